"""Which interactions of a pact accept a request, judged by the Pact core, not by us.

The core has no call that matches one request against one interaction, but its mock server does exactly
that: each interaction's request (with its matching rules) becomes a one-interaction mock server of its
own (pact-python's FFI, bound to 127.0.0.1), and a request is offered to each. 200 means the
interaction's matchers accept it; a 500 says why not. Answers are cached by the request's content, so
a suite replayed many times (prune) asks the core once per distinct request.

    with CoreMatcher(doc["interactions"]) as match:
        match.accepting("GET", "/users/102", "", {"Accept": "application/json"}, b"")  # -> [1, 2]
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from pact import Pact

# Headers that say how the request travelled, not what it asks: never part of a contract's request.
_TRANSPORT = frozenset({"host", "connection", "content-length", "transfer-encoding", "keep-alive"})


class CoreMatcher:
    def __init__(self, interactions: list[dict]):
        self.interactions = interactions
        self._stack = contextlib.ExitStack()
        self._urls: list[str] = []
        self._connections = threading.local()  # per thread: interaction -> a kept-alive connection to its server
        self._cache: dict[tuple, list[int]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> CoreMatcher:
        for n, interaction in enumerate(self.interactions):
            pact = _request_only(interaction, n)
            server = self._stack.enter_context(pact.serve(addr="127.0.0.1", raises=False, verbose=False))
            self._urls.append(str(server.url).rstrip("/"))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def accepting(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> list[int]:
        """The indexes of the interactions whose request matchers accept this request, in pact order."""
        sent = {k: v for k, v in headers.items() if k.lower() not in _TRANSPORT}
        key = (method.upper(), path, query, tuple(sorted((k.lower(), v) for k, v in sent.items())), body)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        same_method = [n for n, i in enumerate(self.interactions) if i["request"]["method"].upper() == key[0]]
        found = [n for n in same_method if self._accepts(n, method, path + (f"?{query}" if query else ""), sent, body)]
        with self._lock:
            self._cache[key] = found
        return found

    def _accepts(self, n: int, method: str, target: str, headers: dict[str, str], body: bytes) -> bool:
        try:
            return self._ask(n, method, target, headers, body)
        except (http.client.HTTPException, ConnectionError):  # a kept connection the server had closed
            self._connection(n, fresh=True)
            return self._ask(n, method, target, headers, body)

    def _ask(self, n: int, method: str, target: str, headers: dict[str, str], body: bytes) -> bool:
        connection = self._connection(n)
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status == 200

    def _connection(self, n: int, fresh: bool = False) -> http.client.HTTPConnection:
        """This thread's connection to interaction n's server, kept alive: a new connection per question
        cost replay about a millisecond per request (bench/latency.py)."""
        kept = self._connections.__dict__.setdefault("by_interaction", {})
        if fresh or n not in kept:
            if n in kept:
                kept[n].close()
            address = urlsplit(self._urls[n])
            kept[n] = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        return kept[n]


def _request_only(interaction: dict, n: int) -> Pact:
    """A pact of this interaction's request (matchers as they are in the file), answered by a bare 200."""
    request = interaction["request"]
    pact = Pact("replay", f"interaction-{n}").with_specification("V4")
    built = pact.upon_receiving(f"interaction {n}").with_request(request["method"], request["path"])
    for name, values in (request.get("query") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            built.with_query_parameter(name, value)
    for name, values in (request.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            built.with_header(name, value, part="Request")
    if (body := _body_text(request.get("body"))) is not None:
        built.with_body(body[0], body[1], part="Request")
    if request.get("matchingRules"):
        built.with_matching_rules(request["matchingRules"], part="Request")
    built.will_respond_with(200)
    return pact


def _body_text(body: Any) -> tuple[str, str | None] | None:
    """A pact body (V4 object or V3 value) as the text and content type the builder takes."""
    if body is None:
        return None
    if isinstance(body, dict) and "content" in body and "contentType" in body:
        content = body["content"]
        return (content if isinstance(content, str) else json.dumps(content)), body.get("contentType")
    return (body if isinstance(body, str) else json.dumps(body)), None
