"""A relay in front of the provider, for what no Pact verifier does to a recorded request.

The verifier and the setups send to this relay instead of the provider; every request is passed on as
it came (the path exactly, the body byte for byte), except:
- one that carries a signed scheme's marker (put there by `Secrets.value`) is signed afresh with the key
  it names (AWS Signature V4): a signature recorded once is stale at once, it covers the time;
- a header whose value is a URL of the provider as the consumer reached it (WebDAV's `Destination:
  http://localhost:8585/b`, which a server compares with its own host) names the provider it now goes to.
"""

from __future__ import annotations

import http.client
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from recorder.secrets.signing import marked, sign
from recorder.threadserver import ThreadServer

TIMEOUT = 60
URL_HEADERS = frozenset({"destination"})  # request headers whose value is a URL of the provider itself
_ORIGIN = re.compile(r"^https?://[^/]+")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"})


def needed(requests: list[dict[str, str]], signing: dict) -> bool:
    """Does a verification of these requests' headers (and these signing keys) need the relay?"""
    return bool(signing) or any(
        k.lower() in URL_HEADERS and _ORIGIN.match(v) for headers in requests for k, v in headers.items()
    )


class ProviderRelay(ThreadServer):
    def __init__(self, provider_url: str, entries: dict[str, dict], given: dict[str, str]):
        """`entries`: each signed secret's entry by its name; `given`: the --secret values."""
        self.provider = urlsplit(provider_url)
        self.entries, self.given = entries, given
        super().__init__(_handler(self))

    def forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        base = self.provider.path.rstrip("/")
        sent = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP | {"host", "content-length"}}
        sent["Host"] = self.provider.netloc
        origin = f"{self.provider.scheme}://{self.provider.netloc}"
        sent = {k: _ORIGIN.sub(origin, v, 1) if k.lower() in URL_HEADERS else v for k, v in sent.items()}
        if (entry := self._entry(sent)) is not None:
            sent = sign(entry, self.given, method, f"{origin}{base}{target}", sent, body)
        kind = http.client.HTTPSConnection if self.provider.scheme == "https" else http.client.HTTPConnection
        conn = kind(self.provider.hostname, self.provider.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, base + target, skip_host=True, skip_accept_encoding=True)
            for k, v in sent.items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _entry(self, headers: dict[str, str]) -> dict | None:
        return marked(next((v for k, v in headers.items() if k.lower() == "authorization"), ""), self.entries)


def _handler(relay: ProviderRelay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, headers, answer = relay.forward(self.command, self.path, list(self.headers.items()), body)
            except (OSError, http.client.HTTPException, ValueError) as e:  # the verifier reports the 502
                status, headers, answer = 502, [("Content-Type", "text/plain")], f"pact-recorder relay: {e}".encode()
            self.send_response_only(status)
            for k, v in headers:
                if k.lower() not in _HOP_BY_HOP | {"content-length"}:
                    self.send_header(k, v)
            length = next((v for k, v in headers if k.lower() == "content-length"), "0")
            self.send_header("Content-Length", length if self.command == "HEAD" else str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
