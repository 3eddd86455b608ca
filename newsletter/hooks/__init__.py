"""Outbound webhooks: staff-registered URLs told about subscribers and sends.

Not to be confused with :mod:`newsletter.feedback.webhooks` and
:mod:`newsletter.web.webhooks`, the *inbound* provider webhooks (bounces and
complaints posted to us). Here we post to others:

* :mod:`~newsletter.hooks.outbox` writes an event and one delivery per
  interested endpoint in the caller's transaction (a crash loses no event);
* :mod:`~newsletter.hooks.dispatch` (run by ``newsletter worker`` and
  ``newsletter run``) claims due deliveries, POSTs them signed
  (:mod:`~newsletter.hooks.signature`) through a client that connects only to
  checked addresses (:mod:`~newsletter.hooks.targets`,
  :mod:`~newsletter.hooks.transport`) and retries with backoff
  (:mod:`~newsletter.hooks.retry`);
* :mod:`~newsletter.hooks.endpoints` is what the console (/admin/hooks) calls.

docs/webhooks.md describes the events, payloads and how to verify a signature.
"""
