"""An HTTP server of ours on 127.0.0.1 (by default), served from a thread while a `with` block runs:
the pact and state URL the verifier reads, the replay a consumer's suite talks to, the self-check's
recorded responses."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLL_SECONDS = 0.02


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that closed its connection mid-request is no error of ours (socketserver would print a
        traceback into the output of whoever runs us: a consumer's suite, prune)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ThreadServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0):
        self.httpd = _Server((host, port), handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        # serve_forever looks for shutdown() between polls: 0.5 s by default, which every `with` waited
        # out at its end (the self-check runs several servers per write).
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(POLL_SECONDS,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
