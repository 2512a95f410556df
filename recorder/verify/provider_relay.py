"""A relay in front of the provider, for what no Pact verifier does to a recorded request.

The verifier and the setups send to this relay instead of the provider; every request is passed on as
it came (the path exactly, the body byte for byte), except:
- one that carries a signed scheme's marker (put there by `Secrets.value`) is signed afresh with the key
  it names (AWS Signature V4): a signature recorded once is stale at once, it covers the time; one that
  carries a Digest answer's marker answers the provider's challenge afresh with the account's password
  (the last challenge it gave, and once more with the one it sends back when it refuses that: a 401);
- a URL of the provider as the consumer reached it (the recorder's address: WebDAV's `Destination:
  http://localhost:8585/b`, a copy's source, a link sent back in a body or a query), which a server
  compares with its own host or fetches, names the provider it now goes to;
- an XML body's ids that are the interaction's state params as recorded carry the fresh provider's
  (the Pact core has no generators for XML bodies);
- a header the provider hands out and the consumer sends back (a session id or CSRF token: a response
  header of the same name held the same value in the pact) carries the value this provider last handed
  out, and a request it refuses while handing out another is sent once more with that one, as the
  consumer's own client did (a value from the recording's provider is stale from the start).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Sequence
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from recorder.infer.variety import looks_random
from recorder.secrets.signing import digest, digest_answerer, marked, sign
from recorder.threadserver import ThreadServer
from recorder.urls import rebased, urls_on

TIMEOUT = 60
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"})


def needed(signing: dict, echoed: frozenset[str], reached: Sequence[str], rebinds: bool = False) -> bool:
    """Does a verification with these signing keys, echoed headers and addresses the consumer reached the
    provider at (`providerReachedAt`), or with XML request bodies that send back what states make (`rebinds`),
    need the relay?"""
    return bool(signing or echoed or reached or rebinds)


def xml_with_states(interactions: list[dict]) -> bool:
    """Does an interaction with provider state params send an XML body (where no generator reaches)?"""
    for i in interactions:
        body = (i.get("request") or {}).get("body")
        content = body.get("content") if isinstance(body, dict) else body
        xml = isinstance(content, str) and content.lstrip().startswith("<")
        if xml and any(s.get("params") for s in i.get("providerStates") or []):
            return True
    return False


def echoed_headers(interactions: list[dict]) -> frozenset[str]:
    """The (lower-case) names of request headers that send back a value a response header of the same name
    handed out: in some interaction's response and some interaction's request with the same random-looking
    value (a media type both sides name is no such thing)."""

    def pairs(part: str):
        for i in interactions:
            for k, v in ((i.get(part) or {}).get("headers") or {}).items():
                for one in v if isinstance(v, list) else [v]:
                    yield k.lower(), one

    handed = set(pairs("response"))
    return frozenset(k for k, v in pairs("request") if (k, v) in handed and looks_random(v))


class ProviderRelay(ThreadServer):
    def __init__(
        self,
        provider_url: str,
        entries: dict[str, dict],
        given: dict[str, str],
        echoed: frozenset[str] = frozenset(),
        reached: Sequence[str] = (),
        rebound: Callable[[bytes], bytes] | None = None,
    ):
        """`entries`: each signed secret's entry by its name; `given`: the --secret values; `echoed`: the
        headers the provider hands out and requests send back; `reached`: the provider's host:port as the
        consumer reached it; `rebound`: a request body with the fresh provider's values where no generator
        reaches (RecordedStates.Setup.rebound)."""
        self.provider = urlsplit(provider_url)
        self.origin = f"{self.provider.scheme}://{self.provider.netloc}"
        self.reached = urls_on(reached) if reached else None
        self.entries, self.given, self.echoed, self.rebound = entries, given, echoed, rebound
        self.handed: dict[str, str] = {}  # each echoed header's value as this provider last handed it out
        self.challenge = ""  # the last Digest challenge this provider sent
        self.answerers: dict[str, object] = {}  # a Digest answerer per account's secret (it counts nonce uses)
        self.lock = threading.Lock()
        super().__init__(_handler(self))

    def forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        sent = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP | {"host", "content-length"}}
        sent["Host"] = self.provider.netloc
        if self.rebound is not None and body:
            body = self.rebound(body)
        if self.reached is not None:
            target, sent, body = self._rebased(target, sent, body)
        with self.lock:
            sent = {k: self.handed.get(k.lower(), v) if k.lower() in self.echoed else v for k, v in sent.items()}
        status, answer_headers, answer = self._send(method, target, sent, body)
        handed = {k.lower(): v for k, v in answer_headers if k.lower() in self.echoed}
        with self.lock:
            self.handed.update(handed)
        stale = {k: handed[k.lower()] for k, v in sent.items() if handed.get(k.lower(), v) != v}
        if stale and status >= 400:
            return self._send(method, target, sent | stale, body)
        return status, answer_headers, answer

    def _rebased(self, target: str, sent: dict[str, str], body: bytes):
        """The request with every URL of the provider as the consumer reached it moved to this provider."""
        move = partial(rebased, urls=self.reached, origin=self.origin)
        body = move(body.decode("latin-1")).encode("latin-1") if body else body
        return move(target), {k: move(v) for k, v in sent.items()}, body

    def _send(self, method: str, target: str, sent: dict[str, str], body: bytes):
        base = self.provider.path.rstrip("/")
        if (entry := self._entry(sent)) is not None and digest(entry):
            return self._answered(entry, method, target, sent, body)
        if entry is not None:
            sent = sign(entry, self.given, method, f"{self.origin}{base}{target}", sent, body)
        return self._transmit(method, target, sent, body)

    def _answered(self, entry: dict, method: str, target: str, sent: dict[str, str], body: bytes):
        """A request sent as the account `entry` names, answering the last Digest challenge (none yet: sent
        without credentials, to be challenged); refused with a new challenge (401), sent once more answering it."""
        url = f"{self.origin}{self.provider.path.rstrip('/')}{target}"
        kept = {k: v for k, v in sent.items() if k.lower() != "authorization"}
        with self.lock:
            answer = self.answerers.setdefault(entry["secret"], digest_answerer(entry, self.given))
            authorization = answer(method, url, self.challenge) if self.challenge else None
        status, headers, data = self._transmit(method, target, kept | _authorization(authorization), body)
        challenge = next(
            (v for k, v in headers if k.lower() == "www-authenticate" and v.lower().startswith("digest")), ""
        )
        if status != 401 or not challenge:
            return status, headers, data
        with self.lock:
            self.challenge = challenge
            authorization = answer(method, url, challenge)
        return (
            self._transmit(method, target, kept | _authorization(authorization), body)
            if authorization
            else (status, headers, data)
        )

    def _transmit(self, method: str, target: str, sent: dict[str, str], body: bytes):
        base = self.provider.path.rstrip("/")
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


def _authorization(value: str | None) -> dict[str, str]:
    return {"Authorization": value} if value else {}


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
