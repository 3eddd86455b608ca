"""Delivery: the outbox in the database, message assembly, SMTP, the worker.

* ``outbox``      the one way rows get into ``deliveries`` (transactional, fan-out, drip)
* ``claims``      leasing due rows and recording results, each a conditional UPDATE
* ``sender``      one drain: claim, commit, send, record, with retries and pauses
* ``worker``      the continuous sender
* ``compose``     a claimed row → message bytes (templates cached, Message-ID, links)
* ``template``    per-issue templates: personalise once, splice per subscriber
* ``mime``        MIME assembly (pure)
* ``signing``     optional DKIM signing
* ``outcome``     what an SMTP reply means (pure); ``backoff`` when to try again (pure)
* ``transport``   the boundary: SMTP pool or the local catcher; ``smtp`` one connection
* ``catcher``     the built-in mail catcher (files under var/)
* ``pacing``      the send rate (messages per second and per hour)
* ``status``      counts per issue, pauses and resuming, the published issues
"""
