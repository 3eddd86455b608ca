"""The console in real Chromium against a real server: log in, the dashboard, staff, log out.

Also what the browser alone can tell: no Content-Security-Policy violation
(htmx included), the skip link and a visible focus ring for keyboard users, no
sideways scrolling on a 375px phone, and roles: a viewer and an editor cannot
reach staff management. Screenshots go to docs/screenshots/console-*.png when
NEWSLETTER_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from newsletter.accounts.staff import get_staff
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import ConsoleServer, console_project, login_page

OWNER, EDITOR, VIEWER = "owner@clinic.example", "editor@clinic.example", "viewer@clinic.example"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-browser") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        yield running



def shoot(page: Page, name: str, scratch: Path) -> None:
    page.screenshot(path=str(screenshot_path(name, scratch)), full_page=True)


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_staff_log_in_see_the_dashboard_and_log_out(
    server: ConsoleServer, browser: Browser, tmp_path: Path, viewport: dict[str, int], label: str
) -> None:
    page, errors = watched_page(browser, viewport)
    page.goto(server.url + "/admin")
    assert page.url.endswith("/admin/login")  # sent to the login page first
    page.wait_for_load_state("networkidle")
    shoot(page, f"console-login-{label}.png", tmp_path)
    login_page(page, server.url, OWNER)
    assert page.url == server.url + "/admin"
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="Staff").is_visible()
    assert no_sideways_scroll(page), f"the dashboard scrolls sideways at {label} width"
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored script loaded
    shoot(page, f"console-dashboard-{label}.png", tmp_path)
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert "/admin/login" in page.url
    assert page.get_by_text("You are logged out.").is_visible()
    page.goto(server.url + "/admin")
    assert "/admin/login" in page.url  # the session is over
    assert errors == [], f"the browser reported: {errors}"
    page.context.close()


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_owner_adds_a_colleague_and_sees_the_password_once(
    server: ConsoleServer, browser: Browser, tmp_path: Path, viewport: dict[str, int], label: str
) -> None:
    page, errors = watched_page(browser, viewport)
    login_page(page, server.url, OWNER)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Staff").click()
    page.wait_for_url("**/admin/staff")
    new = f"reception-{label}@clinic.example"
    page.get_by_label("Email address").fill(new)
    page.get_by_label("Role", exact=True).select_option("viewer")
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    generated = page.get_by_label("Password").input_value()
    assert len(generated) >= 20
    page.get_by_role("link", name="Back to staff").click()
    page.wait_for_url("**/admin/staff")
    assert page.get_by_text(new, exact=True).is_visible()
    assert generated not in page.content()  # shown once, then never again
    assert no_sideways_scroll(page), f"the staff page scrolls sideways at {label} width"
    shoot(page, f"console-staff-{label}.png", tmp_path)
    # Change the newcomer's role; the page says so after the redirect.
    row = page.get_by_role("row").filter(has_text=new)
    row.get_by_label(f"Role of {new}").select_option("editor")
    with page.expect_navigation():
        row.get_by_role("button", name="Change").click()
    assert page.get_by_role("status").filter(has_text=f"{new} is now editor").is_visible()
    assert errors == [], f"the browser reported: {errors}"
    page.context.close()


@pytest.mark.parametrize("email", [VIEWER, EDITOR])
def test_a_viewer_or_an_editor_cannot_reach_staff_management(
    server: ConsoleServer, browser: Browser, email: str
) -> None:
    page, errors = watched_page(browser, DESKTOP)
    login_page(page, server.url, email)
    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="Series").is_visible()
    assert nav.get_by_role("link", name="Staff").count() == 0
    assert nav.get_by_role("link", name="Audit log").count() == 0
    for path in ("/admin/staff", "/admin/audit"):
        response = page.goto(server.url + path)
        assert response is not None
        assert response.status == 403
        assert page.get_by_role("heading", name="Not allowed").is_visible()
    page.context.close()
    assert [e for e in errors if "403" not in e] == []


def test_keyboard_users_get_a_skip_link_and_a_visible_focus_ring(
    server: ConsoleServer, browser: Browser
) -> None:
    page, _ = watched_page(browser, DESKTOP)
    login_page(page, server.url, OWNER)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    skip_box = page.get_by_role("link", name="Skip to content").bounding_box()
    assert skip_box is not None
    assert skip_box["y"] >= 0  # it comes into view when focused
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()")
    assert outline[0] != "none"
    assert outline[1] >= 2
    page.context.close()


# For every element with its own text: the contrast of its colour against the first
# opaque background behind it (WCAG 2 relative luminance). Pure JS, run in the page.
CONTRAST_JS = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.99)) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    if (el.closest('.skip, .visually-hidden')) continue;
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    out.push([el.tagName + ' ' + el.textContent.trim().slice(0, 30), ratio]);
  }
  return out;
}
"""


def test_every_text_on_the_main_pages_has_a_contrast_of_at_least_4_5(
    server: ConsoleServer, browser: Browser
) -> None:
    page, _ = watched_page(browser, DESKTOP)
    page.goto(server.url + "/admin/login")
    checked = list(page.evaluate(CONTRAST_JS))
    login_page(page, server.url, OWNER)
    for path in ("/admin", "/admin/staff", "/admin/audit", "/admin/account"):
        page.goto(server.url + path)
        checked += page.evaluate(CONTRAST_JS)
    page.context.close()
    assert len(checked) > 50
    low = [(text, round(ratio, 2)) for text, ratio in checked if ratio < 4.5]
    assert low == [], f"text below 4.5:1: {low}"


def test_htmx_requests_carry_the_csrf_token_from_the_page_and_fragments_keep_messages(
    server: ConsoleServer, browser: Browser
) -> None:
    # 9b and 9c post with htmx; base.html's hx-headers must give every such request the token.
    server.add_staff("htmx@clinic.example", "viewer")
    page, errors = watched_page(browser, DESKTOP)
    login_page(page, server.url, OWNER)
    page.goto(server.url + "/admin/staff")
    with page.expect_response("**/admin/staff/role") as answer:
        page.evaluate("""htmx.ajax('POST', '/admin/staff/role', {
            source: document.body, target: '#main', swap: 'none',
            values: {email: 'htmx@clinic.example', role: 'editor'}})""")
    assert answer.value.request.header_value("x-csrf-token")
    assert answer.value.status in (200, 303)  # htmx follows the 303 to the staff page
    with server.app() as app:
        assert get_staff(app, "htmx@clinic.example").role == "editor"
    page.goto(server.url + "/admin/staff")  # the message waited for a whole page
    assert page.get_by_role("status").filter(has_text="htmx@clinic.example is now editor").count()
    assert errors == [], f"the browser reported: {errors}"
    page.context.close()
