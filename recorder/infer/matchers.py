"""Pact matching rules for JSON bodies, inferred from a merged shape, with the example and the evidence.

Loose with what the consumer accepts: values are matched by type (`integer`, `decimal` or `number`
for numbers; `type` AND a format regex for strings of a known format), arrays by the type of their
first element with a minimum length, objects never by their full key set (a provider may add fields).
What the Pact core cannot express soundly stays out of a response: a key missing from some observations
is left out of the example (the core fails on an expected key that is missing), and is listed in the
evidence. A request example is what the consumer sent (`verbatim`): every key and element stays, and
the merged shape only chooses matchers, since the verifier sends the example to the provider.

    >>> from recorder.infer.shapes import shape_builder
    >>> b = shape_builder(); b.add_object({"id": 1, "tags": ["a"]})
    >>> example, rules, _ = infer_body(b.to_schema(), {"id": 1, "tags": ["a"]})
    >>> rules
    {'$.id': [{'match': 'integer'}], '$.tags': [{'match': 'type', 'min': 1}], '$.tags[*]': [{'match': 'type'}]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from recorder.infer.shapes import branch, types_of
from recorder.infer.variety import looks_random
from recorder.pattern import escape
from recorder.rules import FieldRule, Ruleset, defaults
from recorder.secrets.redact import PLACEHOLDER
from recorder.values import result_code, success_code

Rules = dict[str, Any]  # JSONPath -> matcher list, or {"combine": "OR", "matchers": [...]}
# (the example request's header names, the names the contract's request sends), lower case
Echo = tuple[frozenset[str], frozenset[str]]

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_DROP = object()
# When a value was seen with several types, the example is taken from the first of these that was seen
# (a string first: `type` is the only way to say "a string", the others have matchers of their own).
_EXAMPLE_ORDER = ("string", "object", "array", "integer", "number", "boolean")
ANY_TEXT = "^[\\s\\S]*$"  # a regex matches the text of any scalar: numbers pass too
ARRAY_EXAMPLE_MAX = 10  # array elements kept in an example: enough for tuples and a typical page


def child_path(path: str, key: str) -> str | None:
    """JSONPath for an object member; None when the core's JSONPath cannot name it (a quote, the empty
    key, which the core rejects as `$['']` when it loads the file, or control characters)."""
    if _DOTTED.match(key):
        return f"{path}.{key}"
    if "'" in key or not key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        return None  # control characters: the core cannot hand such a path across its C interface
    return f"{path}['{key}']"


def or_null(matchers: list[dict]) -> dict:
    return {"combine": "OR", "matchers": [*matchers, {"match": "null"}]}


@dataclass
class BodyInference:
    """One walk over a merged shape and an example value: example, rules and evidence come out."""

    rules: Ruleset = field(default_factory=defaults)
    overrides: dict[str, FieldRule] = field(default_factory=dict)
    matchers: Rules = field(default_factory=dict)
    evidence: dict[str, dict] = field(default_factory=dict)
    echo: Echo | None = None
    verbatim: bool = False  # a request: the example is what the consumer sent, every key and element

    def walk(self, node: dict, value: Any, path: str = "$") -> Any:
        result = self._walk(node, value, path)
        if result is not _DROP or not self.verbatim:
            return result
        # What a response contract leaves out, a request keeps as sent: only its matcher goes.
        if "by" in (entry := self.evidence.get(path, {})):
            entry["by"] = entry["by"].replace("left out:", "kept as sent, without a matcher:")
        return value

    def _walk(self, node: dict, value: Any, path: str) -> Any:
        override = self.overrides.get(path)
        if override is not None and override.match == "ignore":
            self.evidence[path] = {"by": f"rule {override.name!r}", "ignored": True}
            return _DROP
        types = types_of(node)
        kinds = types - {"null"}
        nullable = "null" in types and bool(kinds)
        if value is None and kinds and self.verbatim:
            return self._sent_null(node, kinds, path)
        if value is None and kinds:
            value = _non_null_example(node, kinds)
        if override is not None:
            return self._override(node, value, path, override, nullable or not kinds)
        if types == {"null"} and _member(path):
            # `null` says nothing about the type the provider would send, and equality with null would
            # forbid any value: the field stays out of the contract unless a rule names its type.
            self.evidence[path] = {"by": "left out: only ever null, its type is unknown", "samples": _samples(node)}
            return _DROP
        if kinds & {"object", "array"} and (nullable or len(kinds) > 1) and path != "$":
            # The core compares an object or array example structurally before any matcher, so
            # "object OR null" fails for null (verified), and so does any other type: such a field
            # cannot be in the contract soundly, and is left out with the reason.
            seen = " or ".join(sorted(types))
            self.evidence[path] = {
                "by": f"left out: seen as {seen}, which the Pact core cannot match",
                "samples": _samples(node),
            }
            return _DROP
        if len(kinds) == 1 and isinstance(value, dict) and "object" in kinds:
            return self._object(branch(node, "object"), value, path)
        if len(kinds) == 1 and isinstance(value, list) and "array" in kinds:
            return self._array(branch(node, "array"), value, path)
        if kinds and kinds <= {"string", "integer", "number", "boolean"}:
            return self._scalar(node, kinds, value, path, nullable)
        if kinds:
            self._note(node, path, None, "mixed types " + ", ".join(sorted(kinds)) + ": the example stands as it is")
        return value

    # -- containers ------------------------------------------------------------------------------

    def _object(self, node: dict, value: dict, path: str) -> dict:
        if value and not self.verbatim and all(looks_random(k) for k in value):
            return self._map(node, value, path)
        required, props = set(node.get("required", ())), node.get("properties", {})
        present, total = node.get("x-present", {}), node.get("x-samples", 0)
        out = {}
        unsent = self._echoed_but_unsent(value)
        for key, sub_value in value.items():
            sub = child_path(path, key)
            if key.lower() in unsent:
                if sub is not None:
                    self.evidence[sub] = {"by": "left out: echoes a request header the contract does not send"}
                continue
            if key not in required and not self.verbatim:
                if sub is not None:
                    self.evidence[sub] = {
                        "optional": True,
                        "present": present.get(key, 0),
                        "of": total,
                        "by": "left out: not in every response",
                    }
                continue
            if sub is None and self.verbatim:
                out[key] = sub_value  # no rule can name it: the consumer's value is sent as it was
                continue
            if sub is None:
                # No JSONPath the core accepts can name this key, so no rule could loosen it: a pinned
                # example would fail on other values. It is left out (the evidence says so at the parent).
                self.evidence.setdefault(path, {}).setdefault("unnamed keys left out", []).append(key)
                continue
            result = self.walk(props.get(key, {}), sub_value, sub)
            if key not in required:  # a request's: kept as sent
                self.evidence.setdefault(sub, {}).update(optional=True, present=present.get(key, 0), of=total)
            if result is not _DROP:
                out[key] = result
        return out

    def _map(self, node: dict, value: dict, path: str) -> dict:
        """An object keyed by ids (torrents by their hash, devices by their id): a map whose keys another
        provider names otherwise. Its keys match by their format, every value like the first one's shape;
        the example keeps that one entry."""
        key, first = next(iter(value.items()))
        self.matchers[path] = [
            {"match": "eachKey", "rules": [{"match": "regex", "regex": _key_regex(list(value))}]},
            {"match": "eachValue", "rules": [{"match": "type"}]},
        ]
        self._note(node, path, self.matchers[path][0], "a map keyed by ids: keys by their format")
        result = self.walk(node.get("properties", {}).get(key, {}), first, f"{path}.*")
        return {} if result is _DROP else {key: result}

    def _echoed_but_unsent(self, value: dict) -> set[str]:
        """For an object that echoes the request's headers (two or more keys, every one a header of the
        example request), the keys whose header the contract's request will not send."""
        if self.echo is None or len(value) < 2:
            return set()
        asked, sent = self.echo
        keys = {k.lower() for k in value}
        return keys - sent if keys <= asked else set()

    def _array(self, node: dict, value: list, path: str) -> list:
        if not value and node.get("x-example"):
            value = node["x-example"]  # an empty example says nothing about the elements
        least = node.get("x-minItems", 0)
        array = [{"match": "type", "min": self.rules.array_min if least >= 1 else 0}]
        self.matchers[path] = array
        self._note(node, path, array[0], "array, min 0: an empty one was seen" if least == 0 else "array")
        if not value or "items" not in node:
            return []
        # Every element up to a bound, each walked like the first: the example stays a response the
        # provider sent (a `[timestamp, "value"]` pair stays a pair), and the core compares each actual
        # element with the example element at its index (the first one beyond the example's end).
        out = []
        for element in value if self.verbatim else value[:ARRAY_EXAMPLE_MAX]:
            result = self.walk(node["items"], element, f"{path}[*]")
            if result is _DROP:
                return []
            out.append(result)
        if not self.verbatim and (places := _tuple_places(node)):
            # A tuple (`[timestamp, "value"]`): each place keeps its own type, where `[*]` could only allow
            # any of them anywhere.
            self.matchers.pop(f"{path}[*]", None)
            for i, kind in enumerate(places):
                matcher = "type" if kind == "string" else kind
                self.matchers[f"{path}[{i}]"] = [{"match": matcher}]
                self.evidence[f"{path}[{i}]"] = {"by": f"a tuple's place {i}: {kind}", "matcher": matcher}
        return out

    # -- scalars ---------------------------------------------------------------------------------

    def _scalar(self, node: dict, kinds: set[str], value: Any, path: str, nullable: bool) -> Any:
        if len(kinds) > 1:
            return self._mixed(node, kinds, value, path, nullable)
        kind = kinds.pop()
        if kind == "string" and PLACEHOLDER in branch(node, "string").get("x-distinct", ()):
            # The recording redacted this value: the contract says a string must be there, nothing more.
            self.matchers[path] = or_null([{"match": "type"}]) if nullable else [{"match": "type"}]
            self._note(node, path, {"match": "type"}, "redacted secret")
            return value
        if kind == "string":
            formats = branch(node, "string").get("x-formats", [])
            fmt = next((f for f in self.rules.formats if f.name in formats), None)
            if fmt is not None:
                regex = {"match": "regex", "regex": fmt.regex}
                # regex alone does not assert a string (12.5 passes ^\d+(\.\d+)?$), so AND it with type;
                # a nullable one cannot combine AND and OR in one group and keeps the regex only.
                self.matchers[path] = or_null([regex]) if nullable else [{"match": "type"}, regex]
                self._note(node, path, regex, f"format {fmt.name}")
                return value
        matcher = self._number_matcher(node) if kind in ("integer", "number") else {"match": "type"}
        self.matchers[path] = or_null([matcher]) if nullable else [matcher]
        self._note(node, path, matcher, f"shape {kind}")
        return value

    def _number_matcher(self, node: dict) -> dict:
        kind = branch(node, "number").get("x-number", "integer")
        return {"match": {"integer": self.rules.integers, "decimal": self.rules.floats}.get(kind, "number")}

    def _mixed(self, node: dict, kinds: set[str], value: Any, path: str, nullable: bool) -> Any:
        """Scalars of several types: the example is the string (if any), others get their own matcher."""
        absolute = {"integer": {"match": "integer"}, "number": {"match": "number"}, "boolean": {"match": "boolean"}}
        if (path.endswith("[*]") or self.verbatim) and value is not None:
            # An element keeps its own value (a tuple's positions differ), and the core compares each
            # actual element with the example element at its index; a request keeps what was sent.
            matchers = _typeless(kinds)
        else:
            example_kind = next(k for k in _EXAMPLE_ORDER if k in kinds)
            value = branch(node, example_kind).get("x-example", value)
            matchers = [{"match": "type"}] + [absolute[k] for k in sorted(kinds - {example_kind})]
        if nullable:
            matchers.append({"match": "null"})
        self.matchers[path] = {"combine": "OR", "matchers": matchers}
        self._note(node, path, None, "mixed types " + ", ".join(sorted(kinds)))
        return value

    def _sent_null(self, node: dict, kinds: set[str], path: str) -> None:
        """A request field sent as null that is elsewhere a value: null stays, and the matcher cannot
        compare with the example's type."""
        if kinds <= {"string", "integer", "number", "boolean"}:
            self.matchers[path] = {"combine": "OR", "matchers": [*_typeless(kinds), {"match": "null"}]}
        self._note(node, path, None, "sent as null here, elsewhere " + ", ".join(sorted(kinds)))
        return None

    # -- rules from rule files -------------------------------------------------------------------

    def _override(self, node: dict, value: Any, path: str, rule: FieldRule, nullable: bool) -> Any:
        if rule.match == "enum":
            seen = [v for n in node.get("anyOf", [node]) for v in n.get("x-distinct", ()) if v is not None]
            matcher = {"match": "regex", "regex": "^(" + "|".join(escape(str(v)) for v in seen) + ")$"}
        elif rule.match == "regex":
            matcher = {"match": "regex", "regex": rule.regex}
        else:
            matcher = {"match": rule.match}
        self.matchers[path] = or_null([matcher]) if nullable else [matcher]
        self._note(node, path, matcher, f"rule {rule.name!r}")
        return value

    def _note(self, node: dict, path: str, matcher: dict | None, by: str) -> None:
        branches = node.get("anyOf", [node])
        samples = _samples(node)
        distinct = [v for b in branches for v in b.get("x-distinct", ()) if v is not None]
        entry: dict[str, Any] = {"by": by, "samples": samples}
        if any(b.get("x-distinct-overflow") for b in branches):
            entry["distinct"] = f">{len(distinct)}"
        elif distinct or any(b.get("type") in ("string", "integer", "number", "boolean") for b in branches):
            entry["distinct"] = len(distinct)
        nulls = sum(b.get("x-samples", 0) for b in branches if b.get("type") == "null")
        if nulls:
            entry["null"] = nulls
        if matcher is not None:
            entry["matcher"] = matcher["match"]
        self.evidence[path] = entry


def _key_regex(keys: list[str]) -> str:
    """The narrowest of hex or token characters every key is written in."""
    if all(re.fullmatch(r"[0-9a-fA-F-]+", k) for k in keys):
        return "^[0-9a-fA-F-]+$"
    return "^[A-Za-z0-9+/=_-]+$" if all(re.fullmatch(r"[A-Za-z0-9+/=_-]+", k) for k in keys) else "^.+$"


def _typeless(kinds: set[str]) -> list[dict]:
    """Matchers for scalars of `kinds` that do not depend on the example's type: none but a regex says
    "a string" without a string example."""
    absolute = {"integer": {"match": "integer"}, "number": {"match": "number"}, "boolean": {"match": "boolean"}}
    matchers = [absolute[k] for k in sorted(kinds - {"string"})]
    return matchers + ([{"match": "regex", "regex": ANY_TEXT}] if "string" in kinds else [])


def _tuple_places(node: dict) -> list[str] | None:
    """The type of each place of arrays that always had one length and one scalar type per place, of
    more than one type between them; None for any other array."""
    places = node.get("x-places") or []
    kinds = [p[0] for p in places if len(p) == 1 and p[0] in ("string", "number", "boolean")]
    return kinds if len(places) >= 2 and len(kinds) == len(places) and len(set(kinds)) > 1 else None


def _member(path: str) -> bool:
    """An object member's path (not the root, not array elements, whose places must stay filled)."""
    return path != "$" and not path.endswith("]") or path.endswith("']")


def _samples(node: dict) -> int:
    return sum(b.get("x-samples", 0) for b in node.get("anyOf", [node]))


def _non_null_example(node: dict, kinds: set[str]) -> Any:
    """A nullable field whose first value was null takes its example from a non-null observation: the
    core's `type` compares against the example's type, and null would mean "always null"."""
    for kind in _EXAMPLE_ORDER:
        if kind in kinds and (found := branch(node, kind).get("x-example")) is not None:
            return found
    return None


def infer_body(
    schema: dict,
    value: Any,
    rules: Ruleset | None = None,
    overrides: dict[str, FieldRule] | None = None,
    echo: Echo | None = None,
    verbatim: bool = False,
) -> tuple[Any, Rules, dict[str, dict]]:
    """(example, matching rules by JSONPath, evidence by JSONPath) for one body; `verbatim` (requests)
    keeps every key and element of `value` in the example, choosing only matchers."""
    walker = BodyInference(rules or defaults(), overrides or {}, echo=echo, verbatim=verbatim)
    example = walker.walk(schema, value)
    if not verbatim:
        _pin_result_code(example, walker)
    return (None if example is _DROP else example), walker.matchers, walker.evidence


def _pin_result_code(example: Any, walker: BodyInference) -> None:
    """An answer in an envelope with a result code (`{"code": 0, "message": "ok", "data": ...}`, one per service:
    `[{"result": 1, "text": "..."}]`) pins that code: the code is the outcome, and a refusal is the same envelope
    with another one (matched by type, `{"code": 1, ...}` would pass for the success). Only a code every sample
    had, and not where a rule chose the matcher."""
    if (found := result_code(example)) is None:
        return
    path, code, _ = found
    said = walker.evidence.get(path, {})
    if said.get("distinct") == 1 and path not in walker.overrides:
        walker.matchers[path] = [{"match": "equality"}]
        outcome = "success" if success_code(code) else "refusal"
        said.update(
            by=f"a result code saying {outcome}, pinned (its other outcomes answer another)", matcher="equality"
        )
