"""A second website for form tests: a tiny HTTP server on another loopback port serving one page.

    with OtherSite("<html>…the copied snippet…</html>") as site:
        page.goto(site.url)        # http://127.0.0.1:<another port>/ : another origin

Pages served from it are on another origin than the newsletter, as a clinic's
website would be, so the form's script meets CORS for real.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class OtherSite:
    """Serves ``html`` at every path of http://127.0.0.1:<free port> for a ``with`` block."""

    def __init__(self, html: str) -> None:
        self.html = html
        body = html.encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.origin + "/signup.html"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtherSite:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
