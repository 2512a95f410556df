"""`pact-recorder diff OLD NEW`: what changed between two pacts, and what it means.

Two readings, chosen with `--changed`:
* consumer (default): NEW is a new version of the consumer's contract, to be verified by the provider
  that verified OLD. Breaking: that provider may fail NEW (a status changed, a matcher no longer accepts
  every value it accepted, a field changed type). Needs review: NEW asks for something new (an
  interaction, a field, a header, a state). Non-breaking: NEW asks for less or accepts more.
* provider: the same consumer was recorded again against a changed provider; NEW is what the provider
  does now and OLD what the consumer relied on. Breaking: the provider no longer gives what OLD
  expected (a field or header disappeared, an outcome is gone, values OLD did not accept). Non-breaking:
  the provider sends more, or a narrower set of the values OLD accepted.

A matcher change "accepts more" only when every value the old rule accepted is still accepted (see
`Accepts`): integer -> number does, integer -> type with a string example does not.

Interactions are matched by description (pact-recorder's are unique and stable:
`GET /users/{id} returns 200`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from recorder.files import body_content
from recorder.infer.xmlbody import xml_leaves

BREAKING, REVIEW, SAFE = "breaking", "needs review", "non-breaking"
READINGS = ("consumer", "provider")

# What each event means in each reading: (classification, reason). Matcher events: "loosened" (the new
# rule accepts every old value and more), "tightened" (the reverse), "retyped" (values of a JSON type the
# old rule accepted are rejected), "changed" (neither can be told), "literal" (an exact value changed).
_MEANING: dict[str, dict[str, tuple[str, str]]] = {
    "consumer": {
        "interaction removed": (SAFE, "the consumer no longer needs it"),
        "interaction added": (REVIEW, "a new expectation the provider must meet"),
        "status": (BREAKING, "the provider must answer differently"),
        "state": (REVIEW, "the provider must be able to set up the new state"),
        "response removed": (SAFE, "the consumer no longer relies on it"),
        "response added": (REVIEW, "the provider must send it"),
        "request removed": (REVIEW, "the consumer no longer sends it"),
        "request added": (REVIEW, "the consumer now sends it"),
        "request matcher": (REVIEW, "what the consumer sends changed"),
        "loosened": (SAFE, "the contract now accepts more: every value it accepted still passes"),
        "tightened": (BREAKING, "the contract now accepts less"),
        "retyped": (BREAKING, "the field changed type: values the old contract accepted now fail"),
        "changed": (REVIEW, "a different constraint: neither accepts all the other does"),
        "literal": (REVIEW, "the exact value the provider must send changed"),
    },
    "provider": {
        "interaction removed": (BREAKING, "the provider no longer answers the same consumer this way"),
        "interaction added": (REVIEW, "the provider answered with an outcome not recorded before"),
        "status": (BREAKING, "the provider answers the same request differently"),
        "state": (REVIEW, "the recording needed other provider states"),
        "response removed": (BREAKING, "the provider no longer sends it"),
        "response added": (SAFE, "the provider sends more: a consumer ignores what it does not read"),
        "request removed": (REVIEW, "the same consumer no longer sent it: not a provider change"),
        "request added": (REVIEW, "the same consumer now sent it: not a provider change"),
        "request matcher": (REVIEW, "the same consumer sent other values: not a provider change"),
        "loosened": (BREAKING, "the provider now sends values the old contract did not accept"),
        "tightened": (SAFE, "the provider's values are still ones the old contract accepted"),
        "retyped": (BREAKING, "the provider now sends another type"),
        "changed": (REVIEW, "other values: neither contract accepts all the other does"),
        "literal": (BREAKING, "the provider now sends another value where the contract pinned one"),
    },
}


@dataclass(frozen=True)
class Change:
    interaction: str
    what: str
    classification: str
    reason: str


def diff(old: dict, new: dict, changed: str = "consumer") -> list[Change]:
    meaning = _MEANING[changed]
    before = {i.get("description"): i for i in old.get("interactions", [])}
    after = {i.get("description"): i for i in new.get("interactions", [])}
    removed, added = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
    changes = [Change(n, "interaction removed", *meaning["interaction removed"]) for n in removed]
    changes += [Change(n, "interaction added", *meaning["interaction added"]) for n in added]
    for name in sorted(before.keys() & after.keys()):
        changes += _interaction(name, before[name], after[name], meaning)
    return changes


def _interaction(name: str, old: dict, new: dict, meaning: dict) -> list[Change]:
    out = []
    o_status, n_status = old.get("response", {}).get("status"), new.get("response", {}).get("status")
    if o_status != n_status:
        out.append(Change(name, f"status {o_status} -> {n_status}", *meaning["status"]))
    o_states, n_states = _states(old), _states(new)
    if o_states != n_states:
        out.append(Change(name, f"provider state {o_states or 'none'} -> {n_states or 'none'}", *meaning["state"]))
    for side in ("request", "response"):
        o, n = old.get(side) or {}, new.get(side) or {}
        headers = [_header_values(m.get("headers") or {}) for m in (o, n)]
        header_rules = [_lower((m.get("matchingRules") or {}).get("header", {})) for m in (o, n)]
        out += _compare(name, side, "header", *headers, *header_rules, meaning)
        bodies = [_paths(body_content(m.get("body"))) for m in (o, n)]
        body_rules = [(m.get("matchingRules") or {}).get("body", {}) for m in (o, n)]
        out += _compare(name, side, "field", *bodies, *body_rules, meaning)
    return [_pruned(c, new) for c in out]


def _pruned(change: Change, new: dict) -> Change:
    """A removed response field `prune` left out says so (its evidence in the new pact is marked pruned)."""
    evidence = (new.get("comments") or {}).get("pactRecorder", {}).get("evidence", {}).get("response.body", {})
    path = change.what.removeprefix("response field ").removesuffix(" removed")
    if not (change.what.startswith("response field ") and change.what.endswith(" removed")):
        return change
    for pruned, fact in evidence.items():
        if fact.get("pruned") and (path == pruned or path.startswith((f"{pruned}.", f"{pruned}["))):
            reason = "pruned: " + fact["by"].removeprefix("left out: ")
            return Change(change.interaction, change.what, change.classification, reason)
    return change


def _states(interaction: dict) -> list[str]:
    """Provider state names, V3/V4 `providerStates` or V2 `providerState`."""
    states = interaction.get("providerStates") or []
    if not states and interaction.get("providerState"):
        return [interaction["providerState"]]
    return [s.get("name") for s in states]


def _compare(
    name: str, side: str, kind: str, old: dict, new: dict, old_rules: dict, new_rules: dict, meaning: dict
) -> list[Change]:
    """Headers or body fields (by name or JSONPath) removed, added, or matched differently."""
    removed, added = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    out = [Change(name, f"{side} {kind} {k} removed", *meaning[f"{side} removed"]) for k in removed]
    out += [Change(name, f"{side} {kind} {k} added", *meaning[f"{side} added"]) for k in added]
    for k in sorted(old.keys() & new.keys()):
        if change := _matcher_change(old_rules.get(k), new_rules.get(k), old[k], new[k]):
            event = "request matcher" if side == "request" else change[1]
            out.append(Change(name, f"{side} {kind} {k}: {change[0]}", *meaning[event]))
    return out


def _matcher_change(old: Any, new: Any, old_example: Any, new_example: Any) -> tuple[str, str] | None:
    """(description, loosened | tightened | retyped | changed | literal) when what a value may be changed."""
    o, n = _describe(old), _describe(new)
    o_kind, n_kind = _kind(old_example), _kind(new_example)
    if o == n and o_kind == n_kind:
        if o == "equality" and old_example != new_example:
            return f"exact value {json.dumps(old_example)} -> {json.dumps(new_example)}", "literal"
        return None
    what = f"{o} -> {n}" + (f" ({o_kind} -> {n_kind})" if o_kind != n_kind else "")
    before, after = Accepts.of(old, old_example), Accepts.of(new, new_example)
    if before is None or after is None:  # a matcher this comparison does not model
        return what, "changed"
    wider, narrower = after.covers(before), before.covers(after)
    if wider and narrower:
        return None
    if wider:
        return what, "loosened"
    if narrower:
        return what, "tightened"
    return what, "retyped" if not after.kinds() >= before.kinds() else "changed"


def _matchers(rule: Any) -> list[dict]:
    if isinstance(rule, list):  # V2-style / shorthand: a bare list of matchers
        return rule
    return (rule or {}).get("matchers", []) if isinstance(rule, dict) else []


def _describe(rule: Any) -> str:
    ms = _matchers(rule)
    if not ms:
        return "equality"
    parts = [
        m["match"] + (f" {m['regex']}" if "regex" in m else "") + (f" min {m['min']}" if "min" in m else "") for m in ms
    ]
    return f" {(rule.get('combine') if isinstance(rule, dict) else None) or 'AND'} ".join(parts)


# -- what a rule accepts ------------------------------------------------------------------------------

_NUMBERS = frozenset({"integer", "decimal"})
_SCALARS = frozenset({"string", "boolean"}) | _NUMBERS
# The JSON types each matcher accepts regardless of the example (the core's behaviour, pact-core.md 2.4:
# a regex on a number matches its text).
_FIXED_KINDS = {
    "integer": frozenset({"integer"}),
    "decimal": _NUMBERS - {"integer"},
    "real": _NUMBERS - {"integer"},
    "number": _NUMBERS,
    "boolean": frozenset({"boolean"}),
    "null": frozenset({"null"}),
    "regex": _SCALARS,
    "include": frozenset({"string"}),
    "date": frozenset({"string"}),
    "time": frozenset({"string"}),
    "datetime": frozenset({"string"}),
    "timestamp": frozenset({"string"}),
}


def _kind(example: Any) -> str:
    """The JSON type of an example value; integer and decimal apart, as the core's matchers tell them."""
    if isinstance(example, Container):
        return example.kind
    for kind, types in (("null", type(None)), ("boolean", bool), ("integer", int), ("decimal", float), ("string", str)):
        if isinstance(example, types):
            return kind
    return "object" if isinstance(example, dict) else "array"


@dataclass(frozen=True)
class Alternative:
    """Values of these JSON types that meet every pin (an exact value, a regex, a format, array sizes)."""

    kinds: frozenset[str]
    pins: frozenset[tuple] = frozenset()
    min: int = 0
    max: float = float("inf")

    def within(self, other: Alternative) -> bool:
        """Every value this accepts, `other` accepts too."""
        if not self.kinds:
            return True
        return (
            self.kinds <= other.kinds
            and all(self._implies(pin) for pin in other.pins)
            and other.min <= self.min
            and self.max <= other.max
        )

    def _implies(self, pin: tuple) -> bool:
        if pin in self.pins:
            return True
        exact = next((p[1] for p in self.pins if p[0] == "equal"), None)
        if exact is None or not isinstance(value := json.loads(exact), (str, int, float, bool)):
            return False
        text = json.dumps(value) if not isinstance(value, str) else value
        if pin[0] == "regex":
            return re.fullmatch(pin[1], text) is not None
        return pin[0] == "include" and pin[1] in text


@dataclass(frozen=True)
class Accepts:
    """What one rule accepts for a value, as alternatives (`combine: OR`) of `Alternative`s."""

    alternatives: tuple[Alternative, ...]

    @classmethod
    def of(cls, rule: Any, example: Any) -> Accepts | None:
        kind = _kind(example)
        ms = _matchers(rule)
        if not ms or all(m.get("match") == "equality" for m in ms):
            pins = frozenset() if isinstance(example, Container) else frozenset({("equal", json.dumps(example))})
            return cls((Alternative(frozenset({kind}), pins),))
        parts = [_alternative(m, kind) for m in ms]
        if any(p is None for p in parts):
            return None
        if isinstance(rule, dict) and rule.get("combine") == "OR":
            return cls(tuple(parts))
        return cls((_both(parts),))

    def covers(self, other: Accepts) -> bool:
        return all(any(a.within(b) for b in self.alternatives) for a in other.alternatives)

    def kinds(self) -> frozenset[str]:
        return frozenset().union(*(a.kinds for a in self.alternatives if a.kinds))


def _alternative(matcher: dict, kind: str) -> Alternative | None:
    match = matcher.get("match")
    sizes = {k: matcher[k] for k in ("min", "max") if isinstance(matcher.get(k), int)}
    if match == "type":
        return Alternative(_NUMBERS if kind in _NUMBERS else frozenset({kind}), **sizes)
    if match not in _FIXED_KINDS:
        return None
    pin = matcher.get("regex", matcher.get("value", matcher.get("format")))  # regex, include, date...
    return Alternative(_FIXED_KINDS[match], frozenset({(match, pin)}) if match in _PINNED else frozenset())


_PINNED = frozenset({"regex", "include", "date", "time", "datetime", "timestamp"})


def _both(parts: list[Alternative]) -> Alternative:
    return Alternative(
        frozenset.intersection(*(p.kinds for p in parts)),
        frozenset().union(*(p.pins for p in parts)),
        max(p.min for p in parts),
        min(p.max for p in parts),
    )


@dataclass(frozen=True)
class Container:
    """An object or array in a body: its members have their own paths, so only its kind is compared."""

    kind: str


def _paths(value: Any, path: str = "$") -> dict[str, Any]:
    """Every value in an example body by the JSONPath its rules use (array elements as [*]; an XML body's
    texts and attributes as its rules name them)."""
    xml = path == "$" and isinstance(value, str) and value.lstrip().startswith("<")
    if xml and (leaves := xml_leaves(value)) is not None:
        return leaves
    out: dict[str, Any] = {path: value}
    if isinstance(value, dict):
        for k, v in value.items():
            out |= _paths(v, f"{path}.{k}" if k.isidentifier() else f"{path}['{k}']")
    elif isinstance(value, list) and value:
        out |= _paths(value[0], f"{path}[*]")
    return {p: Container(_kind(v)) if isinstance(v, (dict, list)) else v for p, v in out.items()}


def _lower(d: dict) -> dict:
    return {k.lower(): v for k, v in d.items()}


def _header_values(headers: dict) -> dict[str, str]:
    """Header values by lower-case name, a V4 list of values as the one string the core matches."""
    return {k.lower(): ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in headers.items()}


def breaking(changes: list[Change]) -> bool:
    return any(c.classification == BREAKING for c in changes)


def render(changes: list[Change], old: str, new: str, markdown: bool = False) -> str:
    counts = {k: sum(c.classification == k for c in changes) for k in (BREAKING, REVIEW, SAFE)}
    summary = (
        f"{len(changes)} change(s): {counts[BREAKING]} breaking, {counts[REVIEW]} to review, "
        f"{counts[SAFE]} non-breaking"
    )
    if markdown:
        lines = [f"## Pact diff: `{old}` → `{new}`", "", summary, ""]
        if changes:
            lines += ["| | interaction | change | why |", "|---|---|---|---|"]
            icon = {BREAKING: "❌ breaking", REVIEW: "⚠️ review", SAFE: "✅ non-breaking"}
            lines += [f"| {icon[c.classification]} | {c.interaction} | `{c.what}` | {c.reason} |" for c in changes]
        return "\n".join(lines) + "\n"
    lines = [f"Diff {old} -> {new}: {summary}"]
    lines += [f"  {c.classification.upper():<13} {c.interaction}: {c.what} ({c.reason})" for c in changes]
    return "\n".join(lines) + "\n"


def as_json(changes: list[Change]) -> str:
    return json.dumps([asdict(c) for c in changes], indent=2) + "\n"
