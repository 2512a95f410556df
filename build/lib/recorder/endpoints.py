"""Path templates: which path segments are variables, and what to call them.

    >>> endpoint, values = to_endpoint("/users/42/orders/7")
    >>> endpoint.template, values
    ('/users/{userId}/orders/{id}', {'userId': '42', 'id': '7'})

Detectors are tried in order and the first that matches a segment wins. The last parameter of a
path is called `id`; earlier ones are named from the segment before them (`users` -> `userId`), so
the usual item path reads `/users/{id}` and its provider state gets `{"id": 101}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from recorder.model import Endpoint, Segment
from recorder.pattern import escape


@dataclass(frozen=True)
class SegmentDetector:
    """A kind of variable segment: how to recognise it, the Pact regex for it, how to type its value."""

    name: str
    test: re.Pattern[str]
    regex: str  # Oniguruma-compatible, used in the request path matcher
    numeric: bool = False


DETECTORS: tuple[SegmentDetector, ...] = (
    SegmentDetector("integer", re.compile(r"^[0-9]+$"), "[0-9]+", numeric=True),
    SegmentDetector(
        "uuid",
        re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ),
)
_BY_NAME = {d.name: d for d in DETECTORS}


def detector(kind: str) -> SegmentDetector:
    return _BY_NAME[kind]


def to_endpoint(path: str) -> tuple[Endpoint, dict[str, str]]:
    """The endpoint a concrete path belongs to, and the values of its parameters."""
    raw = [s for s in path.split("/") if s]
    kinds = [_detect(unquote(s)) for s in raw]
    names = _param_names(raw, kinds)
    segments = tuple(Segment(names[i], k) if k else Segment(s) for i, (s, k) in enumerate(zip(raw, kinds, strict=True)))
    values = {names[i]: unquote(raw[i]) for i, k in enumerate(kinds) if k}
    return Endpoint(segments, trailing_slash=path.endswith("/") and len(path) > 1), values


def typed_value(kind: str, value: str) -> int | str:
    """A parameter value as the provider state should carry it: integers as numbers."""
    return int(value) if detector(kind).numeric else value


def _detect(segment: str) -> str | None:
    return next((d.name for d in DETECTORS if d.test.match(segment)), None)


def _param_names(raw: list[str], kinds: list[str | None]) -> dict[int, str]:
    positions = [i for i, k in enumerate(kinds) if k]
    names: dict[int, str] = {}
    for n, i in enumerate(positions):
        parent = raw[i - 1] if i > 0 and not kinds[i - 1] else ""
        base = "id" if n == len(positions) - 1 or not parent else f"{_camel(singular(parent))}Id"
        name, k = base, 2
        while name in names.values():
            name, k = f"{base}{k}", k + 1
        names[i] = name
    return names


def singular(word: str) -> str:
    """A resource name from a collection segment: users -> user, categories -> category."""
    w = unquote(word)
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if w.endswith(("ses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 1:
        return w[:-1]
    return w


def _camel(word: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", word)
    parts = [p for p in parts if p] or ["item"]
    return parts[0].lower() + "".join(p.capitalize() for p in parts[1:])


def path_regex(endpoint: Endpoint) -> str:
    """A full-match regex for the request path: literals escaped, parameters by their detector."""
    parts = [detector(s.kind).regex if s.kind else escape(s.text) for s in endpoint.segments]
    return "^/" + "/".join(parts) + ("/" if endpoint.trailing_slash and parts else "") + "$"
