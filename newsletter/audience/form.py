"""The HTML form people paste into a website to collect signups (``newsletter form-snippet``).

A plain form that works with JavaScript off (it posts to ``/subscribe`` and the
visitor lands on the thank-you page), plus an optional small script that
submits in place with ``fetch`` and fills the browser's time zone. The consent
text shown is the list's, and its sha256 travels with the form so the consent
record names the exact version the visitor saw. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from newsletter.content.lists import ListConfig, consent_text_hash

__all__ = ["FORM_VERSION", "FormFields", "consent_text_hash", "form_snippet"]

FORM_VERSION = "snippet-v1"


@dataclass(frozen=True)
class FormFields:
    """Which optional fields the form has (the email address is always there)."""

    name: bool = True  # "First name (optional)"
    time_zone: bool = True  # the script fills the visitor's zone, so drips arrive in the morning


_SCRIPT = """<script>
(function () {
  var form = document.getElementById("%(form_id)s");
  if (!form) { return; }
%(zone)s  form.elements.page.value = window.location.href;
  if (!window.fetch || !window.URLSearchParams || !window.FormData) { return; }
  var status = form.querySelector(".nl-status");
  var button = form.querySelector("button");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "Sending…";
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "application/json" },
      credentials: "omit"
    }).then(function (response) {
      return response.json().then(function (data) {
        button.disabled = false;
        if (response.ok) {
          form.reset();
          status.textContent = data.message;
        } else {
          status.textContent = data.error || "That did not work. Please try again.";
        }
      });
    }).catch(function () {
      // The answer could not be read (e.g. this site is not an allowed origin):
      // fall back to the classic form post, which always works.
      form.submit();
    });
  });
})();
</script>
"""


_ZONE_SCRIPT = """  try {
    form.elements.time_zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) { /* old browser: the server does without a time zone */ }
"""
_ZONE_FIELD = """  <input type="hidden" name="time_zone" value="">
"""
_NAME_FIELD = """  <p><label>First name (optional)<br>
    <input type="text" name="name" maxlength="256" autocomplete="given-name"></label></p>
"""


def form_snippet(base_url: str, mailing_list: ListConfig, *, script: bool = True,
                 fields: FormFields | None = None) -> str:
    """The paste-able HTML of the signup form for ``mailing_list`` (with the script unless off).

    ``fields`` picks the optional fields (default: name and time zone). The
    time zone is a hidden field the script fills with the browser's zone.
    """
    fields = fields or FormFields()
    form_id = f"nl-signup-{mailing_list.slug}"
    values = {
        "action": escape(f"{base_url}/subscribe"),
        "form_id": escape(form_id),
        "slug": escape(mailing_list.slug),
        "consent_hash": consent_text_hash(mailing_list.consent_text),
        "consent": escape(mailing_list.consent_text),
        "name": escape(mailing_list.name),
        "version": FORM_VERSION,
        "zone_field": _ZONE_FIELD if fields.time_zone else "",
        "name_field": _NAME_FIELD if fields.name else "",
    }
    html = """<!-- Newsletter signup form: %(name)s -->
<form id="%(form_id)s" class="nl-signup" method="post" action="%(action)s" accept-charset="utf-8">
  <input type="hidden" name="list" value="%(slug)s">
  <input type="hidden" name="consent" value="%(consent_hash)s">
  <input type="hidden" name="form" value="%(version)s">
%(zone_field)s  <input type="hidden" name="page" value="">
  <p><label>Email address<br>
    <input type="email" name="email" required maxlength="254" autocomplete="email"></label></p>
%(name_field)s  <div aria-hidden="true"
       style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden">
    <label>Leave this field empty
      <input type="text" name="website" tabindex="-1" autocomplete="off"></label>
  </div>
  <p class="nl-consent"><small>%(consent)s</small></p>
  <p><button type="submit">Subscribe</button></p>
  <p class="nl-status" role="status" aria-live="polite"></p>
</form>
""" % values  # noqa: UP031  (a fixed template; every value is escaped above)
    if script:
        html += _SCRIPT % {"form_id": form_id,
                           "zone": _ZONE_SCRIPT if fields.time_zone else ""}
    return html
