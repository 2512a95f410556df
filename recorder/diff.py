"""`pact-recorder diff OLD NEW`: what changed between two pacts, and what it means.

Each change is classified from the provider's side, which verifies the pact:
* breaking      the contract now accepts less than before (a matcher tightened, a status changed):
                a provider that verified the old pact may fail the new one;
* needs review  the contract asks for something new (an interaction, a field, a header, a state);
* non-breaking  the contract asks for less, or accepts more (a field removed, a matcher loosened).

Interactions are matched by description (pact-recorder's are unique and stable:
`GET /users/{id} returns 200`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

BREAKING, REVIEW, SAFE = "breaking", "needs review", "non-breaking"

# How much a matcher accepts: higher accepts more. No rule means the example must be equal.
_BREADTH = {
    "equality": 0,
    "regex": 1,
    "include": 1,
    "date": 1,
    "time": 1,
    "datetime": 1,
    "timestamp": 1,
    "integer": 2,
    "decimal": 2,
    "boolean": 2,
    "number": 3,
    "type": 4,
}


@dataclass(frozen=True)
class Change:
    interaction: str
    what: str
    classification: str
    reason: str


def diff(old: dict, new: dict) -> list[Change]:
    before = {i.get("description"): i for i in old.get("interactions", [])}
    after = {i.get("description"): i for i in new.get("interactions", [])}
    changes = []
    for name in sorted(before.keys() - after.keys()):
        changes.append(Change(name, "interaction removed", SAFE, "the consumer no longer needs it"))
    for name in sorted(after.keys() - before.keys()):
        changes.append(Change(name, "interaction added", REVIEW, "a new expectation the provider must meet"))
    for name in sorted(before.keys() & after.keys()):
        changes += _interaction(name, before[name], after[name])
    return changes


def _interaction(name: str, old: dict, new: dict) -> list[Change]:
    out = []
    o_status, n_status = old.get("response", {}).get("status"), new.get("response", {}).get("status")
    if o_status != n_status:
        out.append(Change(name, f"status {o_status} -> {n_status}", BREAKING, "the provider must answer differently"))
    o_states = [s.get("name") for s in old.get("providerStates") or []]
    n_states = [s.get("name") for s in new.get("providerStates") or []]
    if o_states != n_states:
        out.append(
            Change(
                name,
                f"provider state {o_states or 'none'} -> {n_states or 'none'}",
                REVIEW,
                "the provider must be able to set up the new state",
            )
        )
    for side in ("request", "response"):
        out += _headers(name, side, old.get(side, {}), new.get(side, {}))
        out += _body(name, side, old.get(side, {}), new.get(side, {}))
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


def _headers(name: str, side: str, old: dict, new: dict) -> list[Change]:
    values = [_lower(m.get("headers") or {}) for m in (old, new)]
    rules = [_lower((m.get("matchingRules") or {}).get("header", {})) for m in (old, new)]
    return _compare(name, side, "header", *values, *rules, gone="no longer expected")


def _body(name: str, side: str, old: dict, new: dict) -> list[Change]:
    values = [_paths(_content(m.get("body"))) for m in (old, new)]
    rules = [(m.get("matchingRules") or {}).get("body", {}) for m in (old, new)]
    return _compare(name, side, "field", *values, *rules, gone="the consumer no longer relies on it")


def _compare(
    name: str, side: str, kind: str, old: dict, new: dict, old_rules: dict, new_rules: dict, gone: str
) -> list[Change]:
    """Headers or body fields (by name or JSONPath) removed, added, or matched differently."""
    response = side == "response"
    out = [
        Change(
            name,
            f"{side} {kind} {k} removed",
            SAFE if response else REVIEW,
            gone if response else "the consumer no longer sends it",
        )
        for k in sorted(old.keys() - new.keys())
    ]
    out += [
        Change(
            name,
            f"{side} {kind} {k} added",
            REVIEW,
            "the provider must send it" if response else "the consumer now sends it",
        )
        for k in sorted(new.keys() - old.keys())
    ]
    for k in sorted(old.keys() & new.keys()):
        if change := _matcher_change(old_rules.get(k), new_rules.get(k), old[k], new[k]):
            out.append(Change(name, f"{side} {kind} {k}: {change[0]}", *_classify(side, change[1])))
    return out


def _classify(side: str, direction: str) -> tuple[str, str]:
    if side == "request":
        return REVIEW, "what the consumer sends changed"
    return {
        "tightened": (BREAKING, "the contract now accepts less"),
        "loosened": (SAFE, "the contract now accepts more"),
        "changed": (REVIEW, "a different constraint of the same strength"),
    }[direction]


def _matcher_change(old: Any, new: Any, old_example: Any, new_example: Any) -> tuple[str, str] | None:
    """(description, tightened | loosened | changed) when the rule for a value changed."""
    o, n = _describe(old), _describe(new)
    if o == n:
        if o == "equality" and old_example != new_example:
            return f"exact value {json.dumps(old_example)} -> {json.dumps(new_example)}", "changed"
        return None
    o_breadth, n_breadth = _breadth(old), _breadth(new)
    direction = "tightened" if n_breadth < o_breadth else "loosened" if n_breadth > o_breadth else "changed"
    return f"{o} -> {n}", direction


def _matchers(rule: Any) -> list[dict]:
    return (rule or {}).get("matchers", []) if isinstance(rule, dict) else []


def _describe(rule: Any) -> str:
    ms = _matchers(rule)
    if not ms:
        return "equality"
    parts = [
        m["match"] + (f" {m['regex']}" if "regex" in m else "") + (f" min {m['min']}" if "min" in m else "") for m in ms
    ]
    return f" {(rule.get('combine') or 'AND')} ".join(parts)


def _breadth(rule: Any) -> float:
    ms = _matchers(rule)
    if not ms:
        return 0
    values = [_BREADTH.get(m["match"], 1) - 0.1 * m.get("min", 0) for m in ms if m["match"] != "null"]
    base = (max(values) if (rule.get("combine") == "OR") else min(values)) if values else 0
    return base + (0.5 if any(m["match"] == "null" for m in ms) and rule.get("combine") == "OR" else 0)


def _content(body: Any) -> Any:
    return body.get("content") if isinstance(body, dict) and "content" in body else body


def _paths(value: Any, path: str = "$") -> dict[str, Any]:
    """Every value in an example body by the JSONPath its rules use (array elements as [*])."""
    out: dict[str, Any] = {path: value}
    if isinstance(value, dict):
        for k, v in value.items():
            out |= _paths(v, f"{path}.{k}" if k.isidentifier() else f"{path}['{k}']")
    elif isinstance(value, list) and value:
        out |= _paths(value[0], f"{path}[*]")
    return {p: (v if not isinstance(v, (dict, list)) else type(v).__name__) for p, v in out.items()}


def _lower(d: dict) -> dict:
    return {k.lower(): v for k, v in d.items()}


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
