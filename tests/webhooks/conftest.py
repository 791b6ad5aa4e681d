"""Webhook fixtures: a real HTTP server on loopback that keeps every request it receives, and that can be
down (nothing listening on its port) and back up again."""

import http.server
import socket
import ssl
import threading

import pytest


class Receiver:
    def __init__(self):
        self.received: list[dict] = []
        self.status = 204
        self.server = None
        self.thread = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens until start(): a connection is refused, as when a receiver is down

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/alcance?team=1"

    def start(self, tls: ssl.SSLContext | None = None):
        """Listen on the port, over TLS with `tls` (a server context holding the certificate)."""
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                if 300 <= receiver.status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", self.port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def allow_private(app, monkeypatch):
    """The admin setting that lets webhooks reach private and loopback addresses (the receiver's)."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
