"""Path templates: which path segments are variables, and what to call them.

    >>> endpoint, values = to_endpoint("/users/42/orders/7")
    >>> endpoint.template, values
    ('/users/{userId}/orders/{id}', {'userId': '42', 'id': '7'})

Explicit templates from the rules win. Otherwise the segment detectors from the rules are tried in
order and the first that matches wins; segments matching `never_params` (v1, api) stay literal. The
last parameter of a path is called `id`; earlier ones are named from the segment before them
(`users` -> `userId`), so the usual item path reads `/users/{id}` and its state gets `{"id": 101}`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from urllib.parse import unquote

from recorder.model import Endpoint, Segment
from recorder.pattern import escape
from recorder.rules import Ruleset, defaults
from recorder.words import singular


class PathRules:
    """The path part of a Ruleset, compiled once."""

    def __init__(self, rules: Ruleset):
        self.detectors = [(d, re.compile(d.test)) for d in rules.detectors]
        self.never = [re.compile(r) for r in rules.never_params]
        self.templates = [_parse_template(t) for t in rules.templates]

    def detect(self, segment: str, after_literal: bool):
        if any(n.search(segment) for n in self.never):
            return None
        return next(
            (d for d, test in self.detectors if test.search(segment) and (after_literal or not d.after_literal)), None
        )

    def detect_leaf(self, segment: str, after_literal: bool):
        """A last segment `<id>.<ext>` (`PUT /cal/1b7c...e2.ics`) is a parameter like `<id>`, its
        extension kept literal in the regex; the value is the whole segment, as the path names it."""
        if (found := self.detect(segment, after_literal)) is not None:
            return found
        if (m := _EXTENSION.match(segment)) is None or (d := self.detect(m.group(1), after_literal)) is None:
            return None
        stem = f"({d.regex})" if "|" in d.regex else d.regex
        return replace(d, regex=stem + escape(m.group(2)), numeric=False)


_EXTENSION = re.compile(r"^(.+?)(\.[A-Za-z][A-Za-z0-9]{0,9})$")


def _suffix(detector, segment: str) -> str:
    """The extension a leaf parameter was detected with (its regex ends with it), else ''."""
    m = _EXTENSION.match(unquote(segment))
    return m.group(2) if m and detector.regex.endswith(escape(m.group(2))) else ""


@cache
def _default_path_rules() -> PathRules:
    return PathRules(defaults())


def to_endpoint(path: str, rules: PathRules | None = None) -> tuple[Endpoint, dict[str, str]]:
    """The endpoint a concrete path belongs to, and the values of its parameters."""
    rules = rules or _default_path_rules()
    raw = [s for s in path.split("/") if s]
    trailing = path.endswith("/") and len(path) > 1
    for template in rules.templates:
        if (found := _match_template(template, raw, trailing)) is not None:
            return found
    detected: list = []
    for i, s in enumerate(raw):
        detect = rules.detect_leaf if i == len(raw) - 1 else rules.detect
        detected.append(detect(unquote(s), after_literal=i > 0 and detected[i - 1] is None))
    names = _param_names(raw, [d is not None for d in detected])
    segments = tuple(
        Segment(names[i], d.name, d.regex, d.numeric, _suffix(d, s)) if d else Segment(s)
        for i, (s, d) in enumerate(zip(raw, detected, strict=True))
    )
    values = {names[i]: unquote(raw[i]) for i, d in enumerate(detected) if d}
    return Endpoint(segments, trailing_slash=trailing), values


def _parse_template(template: str) -> Endpoint:
    segments = []
    for s in (s for s in template.split("/") if s):
        if s.startswith("{"):
            segments.append(Segment(s[1:-1], "template", "[^/]+"))
        else:
            segments.append(Segment(s))
    return Endpoint(tuple(segments), trailing_slash=template.endswith("/") and len(template) > 1)


def _match_template(template: Endpoint, raw: list[str], trailing: bool) -> tuple[Endpoint, dict] | None:
    if len(template.segments) != len(raw) or template.trailing_slash != trailing:
        return None
    values = {}
    for seg, s in zip(template.segments, raw, strict=True):
        if not seg.is_param and seg.text != s:
            return None
        if seg.is_param:
            values[seg.text] = unquote(s)
    numeric = {k for k, v in values.items() if v.isdigit()}
    segments = tuple(
        Segment(s.text, s.kind, s.regex, s.text in numeric) if s.is_param else s for s in template.segments
    )
    return Endpoint(segments, template.trailing_slash), values


def typed_value(segment: Segment, value: str) -> int | str:
    """A parameter value as the provider state should carry it: numbers as numbers."""
    return int(value) if segment.numeric and value.isdigit() else value


def _param_names(raw: list[str], is_param: list[bool]) -> dict[int, str]:
    positions = [i for i, p in enumerate(is_param) if p]
    names: dict[int, str] = {}
    for n, i in enumerate(positions):
        parent = raw[i - 1] if i > 0 and not is_param[i - 1] else None
        names[i] = param_name(parent, n == len(positions) - 1, set(names.values()))
    return names


def param_name(parent: str | None, last: bool, taken: set[str]) -> str:
    """`id` for the last parameter (or one without a literal parent), else `<singular parent>Id`;
    a number is added when the name is taken."""
    base = "id" if last or not parent else f"{_camel(singular(parent))}Id"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}{k}", k + 1
    return name


def _camel(word: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", word) if p] or ["item"]
    return parts[0].lower() + "".join(p.capitalize() for p in parts[1:])


def path_regex(endpoint: Endpoint) -> str:
    """A full-match regex for the request path: literals escaped, parameters by their detector."""
    parts = [
        f"({s.regex})" if s.is_param and "|" in s.regex else s.regex if s.is_param else escape(s.text)
        for s in endpoint.segments
    ]
    return "^/" + "/".join(parts) + ("/" if endpoint.trailing_slash and parts else "") + "$"
