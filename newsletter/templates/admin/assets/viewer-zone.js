// Tells the console the viewer's time zone, so pages can show times in it too.
// It keeps the browser's IANA zone in a cookie and reloads once when that cookie changes.
// Without JavaScript the pages use ?tz= or the time_zone setting.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone || zone.length > 64) { return; }
  var wanted = "newsletter_tz=" + encodeURIComponent(zone);
  var cookies = document.cookie ? document.cookie.split("; ") : [];
  if (cookies.indexOf(wanted) !== -1) { return; }
  document.cookie = wanted + "; path=/admin; max-age=31536000; SameSite=Lax";
  // Reload at most once per zone and tab (no loop when cookies are refused).
  try {
    if (window.sessionStorage.getItem("newsletter_tz_reloaded") === zone) { return; }
    window.sessionStorage.setItem("newsletter_tz_reloaded", zone);
  } catch (e) { return; }
  if (window.location.search.indexOf("tz=") === -1) { window.location.reload(); }
})();
