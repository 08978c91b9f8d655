"""Serve netron's viewer and the open model on 127.0.0.1, with netron's outside calls removed.

netron's web UI, left alone, asks ipinfo.io for the user's country, shows a cookie
prompt, reports to Google Analytics when it thinks it is a packaged release, and once
its build date is 180 days old blocks the page with an endless "Please update" prompt.
The page served here prevents all of it without editing netron's files:
- the version meta is 0.0.0, so netron does not consider itself packaged (no telemetry);
- the build-date meta is removed, so netron takes "now" as its date and never ages;
- a same-origin script sets netron's consent cookie before netron starts, so there is no
  consent prompt and no ipinfo.io lookup;
- a Content-Security-Policy with `connect-src 'self'` stops any request to another host.
Its shapes are drawn with brackets that every desktop's fonts have (`with_latin_brackets`).
"""

from __future__ import annotations

import http.server
import logging
import re
import socketserver
import threading
import urllib.parse
from pathlib import Path

log = logging.getLogger(__name__)

_MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
SHIM_NAME = "workbench-shim.js"
SHIM_JS = """// Served by TinyML Workbench: answer netron's consent question before it asks.
document.cookie = 'consent=' + Date.now() + '; path=/; max-age=31536000; SameSite=Strict';
"""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; frame-src 'none'; font-src 'self' data:"
)


# netron writes tensor shapes in CJK angle brackets (U+3008, U+3009), which the fonts of a plain
# Linux desktop lack (boxes are drawn instead); the mathematical angle brackets look the same and
# DejaVu Sans, Segoe UI Symbol and the macOS fonts have them.
_BRACKETS = ((rb"\u3008", rb"\u27e8"), (rb"\u3009", rb"\u27e9"))


def with_latin_brackets(script: bytes) -> bytes:
    """netron's view.js drawing ⟨⟩ where it draws 〈〉 (the same characters everywhere, so its own
    checks of them still agree)."""
    for cjk, latin in _BRACKETS:
        script = script.replace(cjk, latin)
    return script


def netron_dir() -> Path:
    import netron

    return Path(netron.__file__).resolve().parent


def rewrite_index(html: str, model_url: str | None, model_name: str | None) -> str:
    """netron's index.html with the metas that keep it quiet and open the model directly."""
    html = re.sub(r'<meta name="date" content="[^"]*">\s*', "", html)
    html = re.sub(
        r'<meta http-equiv="Content-Security-Policy" content="[^"]*">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        html,
    )
    meta = ['<meta name="type" content="Python">', '<meta name="version" content="0.0.0">']
    if model_url:
        meta.append(f'<meta name="file" content="{model_url}">')
    if model_name:
        meta.append(f'<meta name="identifier" content="{model_name}">')
    html = re.sub(r'<meta name="version" content="[^"]*">', lambda _: "\n".join(meta), html)
    return html.replace(
        '<script type="text/javascript" src="index.js"></script>',
        f'<script type="text/javascript" src="{SHIM_NAME}"></script>\n'
        '<script type="text/javascript" src="index.js"></script>',
    )


class NetronServer:
    """A loopback HTTP server for netron's files and one model at a time."""

    def __init__(self, *, quiet: bool = True) -> None:
        """`quiet=False` serves netron's page as shipped (tests use it to show what `quiet` prevents)."""
        self._quiet = quiet
        self._root = netron_dir()
        self._model: bytes = b""
        self._model_name = "model.tflite"
        self._revision = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server._serve(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("netron: " + format, *args)

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                # The page went away mid-request (a new model, the window closing): nothing to report.
                log.debug("netron request from %s ended early", client_address, exc_info=True)

        self._httpd = Threaded(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="netron-server", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def set_model(self, data: bytes, name: str) -> str:
        """Serve this model; returns the page URL that opens it."""
        with self._lock:
            self._model = data
            self._model_name = re.sub(r"[^\w.-]", "_", name) or "model.tflite"
            if not self._model_name.endswith(".tflite"):
                self._model_name += ".tflite"
            self._revision += 1
            return f"http://127.0.0.1:{self.port}/?rev={self._revision}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _serve(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlparse(request.path).path
        status, body, mime = 404, b"not found", "text/plain"
        with self._lock:
            model, name = self._model, self._model_name
        if path in ("/", "/index.html"):
            html = (self._root / "index.html").read_text(encoding="utf-8")
            if self._quiet:
                html = rewrite_index(html, f"/data/{name}" if model else None, name)
            else:
                html = html.replace(
                    '<meta name="version"', f'<meta name="file" content="/data/{name}">\n<meta name="version"'
                )
            body = html.encode("utf-8")
            status, mime = 200, _MIME[".html"]
        elif path == f"/{SHIM_NAME}":
            status, body, mime = 200, SHIM_JS.encode(), _MIME[".js"]
        elif path.startswith("/data/"):
            if model and urllib.parse.unquote(path[len("/data/") :]) == name:
                status, body, mime = 200, model, "application/octet-stream"
        else:
            target = (self._root / path.lstrip("/")).resolve()
            if target.is_file() and target.is_relative_to(self._root) and target.suffix in _MIME:
                status, body, mime = 200, target.read_bytes(), _MIME[target.suffix]
                if target.name == "view.js":
                    body = with_latin_brackets(body)
        request.send_response(status)
        request.send_header("Content-Type", mime)
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(body)
