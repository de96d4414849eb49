"""A small HTTP server for processes without an API (relays, consumers):
/metrics for Prometheus and /healthz for the orchestrator."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 — the stdlib's name
        if self.path.startswith("/metrics"):
            body, kind = generate_latest(), CONTENT_TYPE_LATEST
        elif self.path.startswith("/healthz"):
            body, kind = b'{"status":"ok"}', "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


def serve(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer | None:
    if not port:
        return None
    server = ThreadingHTTPServer((host, port), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server
