"""Replay a recorded pact to its consumer: the contract answers as the provider would.

The Pact core decides which interactions accept a request (`pact.core_match`); what the core's stub cannot do
is ours: the same request with several outcomes (a user read before and after it was deleted, a PUT
that creates and then conflicts) is answered from what this replay has seen so far. A resource the
replay answered as created (201 + Location, a PUT) exists, one it answered as deleted does not; a
candidate interaction whose provider state (`... exists` / `... does not exist`) or status agrees
with that wins, then the one whose recorded request is closest to this one (the most of its path, query,
header values and body fields the same: an order for an item answered 201 and one for an unknown item
answered 422 are each answered as recorded), then the pact's order.

Values come from the examples, so the answers are the recorded ones: a resource a listing showed
(`GET /users` holds user 102) is answered with its own values when it is read by id; ProviderState
generators take the values of the request's own path (`/users/${user}` on /users/102 gives user=102);
a redacted secret is answered with a made-up value the consumer can send back. `withheld` leaves
response fields out (by interaction index: JSONPaths, `$` for the whole body, `header:NAME`), which is how
`prune` asks what the suite needs.

An unmatched request gets a 500 naming the closest interaction, and is counted.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from recorder.pact.core_match import CoreMatcher
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.provider_states import collection_items
from recorder.threadserver import ThreadServer
from recorder.urls import split_target
from recorder.values import leaves

REPLAYED_SECRET = "replayed-secret"
"""What a redacted value in a response is answered with: any value the consumer can send back."""
_ID_KEYS = ("id", "uuid", "key", "slug", "name")
_PARAM = re.compile(r"\$\{(\w+)\}")


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Tests:
    """Which test of the consumer's suite made each request, and which tests failed, as prune's probe in
    the suite says (recorder.tools.prune_probe); empty when the suite has no probe."""

    current: str | None = None
    by_test: dict[str, set[int]] = field(default_factory=dict)  # test -> interactions it was answered from
    failed: set[str] = field(default_factory=set)

    def said(self, message: dict) -> None:
        test = message.get("test")
        if message.get("failed") and isinstance(test, str):
            self.failed.add(test)
        else:
            self.current = test if isinstance(test, str) else None
            if self.current is not None:
                self.by_test.setdefault(self.current, set())

    def used(self, n: int) -> None:
        if self.current is not None:
            self.by_test[self.current].add(n)


@dataclass
class Replay:
    """The answers of one replay session (one run of the consumer's suite): its own world and counts."""

    interactions: list[dict]
    matcher: CoreMatcher | None  # set before the first request is answered
    withheld: dict[int, frozenset[str]] = field(default_factory=dict)
    served: Counter = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    _examples: list[_Example] = field(default_factory=list)
    _known: dict[str, Any] = field(default_factory=dict)  # path -> the resource's body, as last answered
    _gone: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    tests: Tests = field(default_factory=Tests)

    def __post_init__(self) -> None:
        self._known = known_resources(self.interactions)
        self._examples = [_Example.of(i["request"]) for i in self.interactions]

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        path, query = split_target(target)
        accepting = self.matcher.accepting(method, path, query, headers, body)
        lowered = _lowered(headers)
        sent = _Example(path, query, lowered, _fields(body, lowered.get("content-type"))) if accepting else None
        with self._lock:
            if not accepting:
                return self._unmatched(method, target)
            n = min(accepting, key=lambda i: self._rank(i, sent))
            self.served[n] += 1
            self.tests.used(n)
            answer = self._respond(n, method, path)
            self._remember(method, path, answer)
        return answer

    def _rank(self, n: int, sent: _Example) -> tuple:
        expects = _expects_existing(self.interactions[n])
        world = True if sent.path in self._known else False if sent.path in self._gone else None
        agrees = 1 if world is None or expects is None else (0 if world == expects else 2)
        return agrees, -self._examples[n].likeness(sent), n

    def _respond(self, n: int, method: str, path: str) -> Answer:
        interaction = self.interactions[n]
        response = interaction["response"]
        params = _request_params(interaction, path)
        content, content_type = _content(response)
        recorded = ((interaction.get("comments") or {}).get("pactRecorder") or {}).get("recorded")
        if recorded is not None and isinstance(content, dict | list):
            content = copy.deepcopy(recorded)  # (with what the contract left out: see pact.document.provenance)
        if method.upper() == "GET" and isinstance(content, dict) and path in self._known:
            known = self._known[path]
            if isinstance(known, dict) and known.keys() == content.keys():
                content = copy.deepcopy(known)
        elif isinstance(content, (dict, list)):
            content = _generated(content, response.get("generators", {}).get("body", {}), params)
        withheld = self.withheld.get(n, frozenset())
        if WHOLE_BODY in withheld:
            content, content_type = None, None
        for jsonpath in withheld:
            if jsonpath.startswith(("$.", "$[")):
                withhold(content, jsonpath)
        headers = [(k, v) for k, v in _headers(response, params) if not _header_withheld(k, withheld)]
        if content is None:
            data = b""
        elif isinstance(content, bytes):
            data = content
        elif isinstance(content, str):
            data = content.replace(PLACEHOLDER, REPLAYED_SECRET).encode()
        else:
            data = json.dumps(_unredacted(content)).encode()
        if content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", content_type))
        return Answer(int(response.get("status", 200)), headers, data)

    def _remember(self, method: str, path: str, answer: Answer) -> None:
        """What the answer did to the world: created, replaced or deleted a resource."""
        if not 200 <= answer.status < 300:
            return
        method = method.upper()
        location = next((v for k, v in answer.headers if k.lower() == "location"), None)
        created = urlsplit(location).path if answer.status == 201 and location else None
        if created is None and method in ("PUT", "PATCH"):
            created = path
        if created is not None:
            self._gone.discard(created)
            self._known[created] = _json_or_none(answer.body)
        elif method == "DELETE":
            self._known.pop(path, None)
            self._gone.add(path)

    def _unmatched(self, method: str, target: str) -> Answer:
        closest = self.interactions[closest_interaction(self.interactions, method, split_target(target)[0])]
        message = (
            f"pact-recorder replay: no interaction accepts {method} {target}; the closest is "
            f"{closest['description']!r} ({closest['request']['method']} {closest['request']['path']})"
        )
        self.unmatched.append(f"{method} {target} (closest: {closest['description']})")
        body = json.dumps({"error": message}).encode()
        return Answer(500, [("Content-Type", "application/json")], body)

    def summary(self) -> list[str]:
        lines = [f"{sum(self.served.values())} request(s) answered, {len(self.unmatched)} unmatched"]
        lines += [f"  unmatched: {line}" for line in self.unmatched]
        return lines


PROBE_PATH = "/_pact-recorder/test"


@dataclass(frozen=True)
class _Example:
    """A request as replay compares it with another: its path, query, header values (lower-case names) and
    body fields (JSON leaves or form pairs; the whole body otherwise)."""

    path: str
    query: str
    headers: dict[str, str]
    fields: frozenset

    @classmethod
    def of(cls, request: dict) -> _Example:
        headers = _lowered({k: ", ".join(_listed(v)) for k, v in (request.get("headers") or {}).items()})
        content, content_type = _content(request)
        if isinstance(content, (dict, list)):
            body = json.dumps(content).encode()
        elif isinstance(content, str):
            body = content.encode()
        else:
            body = content or b""
        fields = _fields(body, headers.get("content-type") or content_type)
        return cls(request["path"], _query_text(request.get("query")), headers, fields)

    def likeness(self, other: _Example) -> int:
        """How much of `other` is the same as this: path, query, each header value, each body field."""
        same = (self.path == other.path) + (self.query == other.query) + len(self.fields & other.fields)
        return same + sum(other.headers.get(k) == v for k, v in self.headers.items())


def _lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("content-length", "host", "connection")}


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _fields(body: bytes, content_type: str | None) -> frozenset:
    """A body as the set of its fields: JSON leaves with their paths, form pairs, else the bytes whole."""
    if not body:
        return frozenset()
    if "form-urlencoded" in (content_type or ""):
        return frozenset(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        value = json.loads(body)
    except ValueError:
        return frozenset({body})
    if not isinstance(value, (dict, list)):
        return frozenset({body})
    return frozenset((where, json.dumps(v)) for where, v in leaves(value))


def closest_interaction(interactions: list[dict], method: str, path: str) -> int:
    """The interaction a person would say was meant: same method, the most path segments in common."""
    wanted = path.strip("/").split("/")

    def score(n: int) -> tuple[int, int, int]:
        request = interactions[n]["request"]
        segments = request["path"].strip("/").split("/")
        common = next(
            (i for i, (a, b) in enumerate(zip(wanted, segments, strict=False)) if a != b),
            min(len(wanted), len(segments)),
        )
        return request["method"].upper() == method.upper(), common, -abs(len(segments) - len(wanted))

    return max(range(len(interactions)), key=score)


def known_resources(interactions: list[dict]) -> dict[str, Any]:
    """Resources the pact shows, by path: the body of each GET answered 2xx, and each item of a listing
    (under the listing's path and the item's id), so a read by id answers that item's own values."""
    known: dict[str, Any] = {}
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        if request["method"].upper() != "GET" or not 200 <= int(response.get("status", 200)) < 300:
            continue
        content, _ = _content(response)
        for item in collection_items(content) or []:
            key = next((k for k in _ID_KEYS if isinstance(item, dict) and k in item), None)
            if key is not None and isinstance(item[key], (int, str)):
                known.setdefault(f"{request['path'].rstrip('/')}/{item[key]}", item)
        if not request.get("query"):
            known[request["path"]] = content
    return known


def _expects_existing(interaction: dict) -> bool | None:
    """Whether the interaction needs the requested resource to exist: its last provider state says so
    (`record exists` / `record does not exist`), else a 404/410 says it does not."""
    states = interaction.get("providerStates") or []
    if states and (m := re.search(r"\b(does not exist|exists?)$", states[-1].get("name", ""))):
        return m.group(1) != "does not exist"
    return False if int(interaction["response"].get("status", 200)) in (404, 410) else None


def _request_params(interaction: dict, path: str) -> dict[str, str]:
    """Provider-state values this request carries: `/users/${user}` on /users/102 gives user=102."""
    params = {k: v for s in interaction.get("providerStates") or [] for k, v in (s.get("params") or {}).items()}
    generator = (interaction["request"].get("generators") or {}).get("path") or {}
    expression = generator.get("expression") if generator.get("type") == "ProviderState" else None
    if expression:
        pattern = "".join(
            f"(?P<{piece}>[^/]+)" if n % 2 else re.escape(piece) for n, piece in enumerate(_PARAM.split(expression))
        )
        if m := re.fullmatch(pattern, path):
            params.update(m.groupdict())
    return params


def _generated(content: Any, generators: dict, params: dict) -> Any:
    """The example with its ProviderState generators applied from `params` (those it can fill)."""
    content = copy.deepcopy(content)
    for jsonpath, generator in generators.items():
        value = _expression(generator, params)
        if value is not None:
            _set(content, jsonpath, value)
    return content


def _expression(generator: dict, params: dict) -> Any:
    if generator.get("type") != "ProviderState":
        return None
    expression = generator.get("expression", "")
    names = _PARAM.findall(expression)
    if not names or any(name not in params for name in names):
        return None
    text = _PARAM.sub(lambda m: str(params[m.group(1)]), expression)
    if generator.get("dataType") in ("INTEGER", "DECIMAL") and re.fullmatch(r"-?\d+(\.\d+)?", text):
        return int(text) if generator["dataType"] == "INTEGER" else float(text)
    return text


def _headers(response: dict, params: dict) -> list[tuple[str, str]]:
    generators = (response.get("generators") or {}).get("header") or {}
    out = []
    for name, values in (response.get("headers") or {}).items():
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        value = ", ".join(values) if isinstance(values, list) else str(values)
        if name in generators and (generated := _expression(generators[name], params)) is not None:
            value = str(generated)
        out.append((name, value.replace(PLACEHOLDER, REPLAYED_SECRET)))
    return out


def _content(message: dict) -> tuple[Any, str | None]:
    """A message's body as a value (JSON), text or bytes, and its content type (V4 and V3)."""
    body = message.get("body")
    if isinstance(body, dict) and "content" in body and "contentType" in body:
        content = body["content"]
        if body.get("encoded") == "base64":
            return base64.b64decode(content), body["contentType"]
        if body.get("encoded") == "json" and isinstance(content, str):
            return json.loads(content), body["contentType"]
        return content, body["contentType"]
    return body, None


def _unredacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unredacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unredacted(v) for v in value]
    return value.replace(PLACEHOLDER, REPLAYED_SECRET) if isinstance(value, str) else value


def _query_text(query: Any) -> str:
    if not query:
        return ""
    if isinstance(query, str):
        return query
    pairs = [(k, v) for k, values in query.items() for v in (values if isinstance(values, list) else [values])]
    return "&".join(f"{k}={v}" for k, v in pairs)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# -- JSONPaths as the recorder writes them: $.a['b c'][*].d -----------------------------------------

_STEP = re.compile(r"\.([^.\[\]]+)|\['([^']*)'\]|\[(\*|\d+)\]")


def path_steps(jsonpath: str) -> list[str | int | None]:
    """`$.items[*].email` -> ['items', None, 'email'] (None: every element; an int: that one)."""
    steps: list[str | int | None] = []
    for dotted, quoted, index in _STEP.findall(jsonpath[1:]):
        steps.append((None if index == "*" else int(index)) if index else dotted or quoted)
    return steps


def _targets(value: Any, steps: list) -> list[tuple[Any, Any]]:
    """(container, key) pairs the path names in `value`."""
    if not steps:
        return []
    head, rest = steps[0], steps[1:]
    if isinstance(value, list):
        keys = range(len(value)) if head is None else [head] if isinstance(head, int) and head < len(value) else []
    else:
        keys = [head] if isinstance(value, dict) and head in value else []
    if not rest:
        return [(value, k) for k in keys]
    return [t for k in keys for t in _targets(value[k], rest)]


WHOLE_BODY, HEADER = "$", "header:"
"""What prune withholds besides a body's members: the whole body (its Content-Type with it), a header."""


def _header_withheld(name: str, withheld: frozenset[str]) -> bool:
    return HEADER + name.lower() in withheld or (WHOLE_BODY in withheld and name.lower() == "content-type")


def withhold(content: Any, jsonpath: str) -> None:
    """Leave the field out of `content` (every element's, through [*])."""
    for container, key in _targets(content, path_steps(jsonpath)):
        if isinstance(container, dict):
            container.pop(key, None)


def _set(content: Any, jsonpath: str, value: Any) -> None:
    for container, key in _targets(content, path_steps(jsonpath)):
        container[key] = value


# -- serving --------------------------------------------------------------------------------------


class ReplayServer(ThreadServer):
    """A Replay on HOST:PORT (127.0.0.1 by default), served from a thread while the block runs."""

    def __init__(self, replay: Replay, host: str = "127.0.0.1", port: int = 0):
        super().__init__(_handler(replay), host, port)
        self.replay = replay


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == PROBE_PATH and self.command == "POST":
                with replay._lock:
                    replay.tests.said(_json_or_none(body) or {})
                answer = Answer(204, [], b"")
            else:
                answer = replay.answer(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def http_interactions(doc: dict) -> list[dict]:
    """The HTTP interactions of a pact (V4 message interactions are not a provider's answers)."""
    return [i for i in doc["interactions"] if i.get("type", "Synchronous/HTTP") == "Synchronous/HTTP"]


def env_name(provider: str) -> str:
    """The variable a run reads the provider's URL from: PACT_RECORDER_URL_<NAME>, as when recording."""
    return f"PACT_RECORDER_URL_{re.sub(r'[^A-Z0-9]', '_', provider.upper())}"


@contextmanager
def replaying(doc: dict, host: str = "127.0.0.1", port: int = 0) -> Iterator[ReplayServer]:
    """The pact answered on HOST:PORT while the block runs."""
    interactions = http_interactions(doc)
    # The listener is bound first: the core's mock servers (one per interaction) take free ports, and one
    # of them could take the port asked for.
    replay = Replay(interactions, matcher=None)
    with ReplayServer(replay, host, port) as server, CoreMatcher(interactions) as replay.matcher:
        yield server
