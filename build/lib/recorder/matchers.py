"""Pact matching rules for JSON bodies, inferred from a merged shape, and the example to go with them.

Loose with what the consumer accepts: response values are matched by type (with `integer`,
`decimal` or `number` for numbers), arrays by the type of their first element with a minimum length,
and objects never by their full key set, so a provider may add fields.

    >>> from recorder.shapes import ShapeBuilder
    >>> b = ShapeBuilder(); b.add_object({"id": 1, "tags": ["a"]})
    >>> body_rules(b.to_schema(), {"id": 1, "tags": ["a"]})
    {'$.id': [{'match': 'integer'}], '$.tags': [{'match': 'type', 'min': 1}], '$.tags[*]': [{'match': 'type'}]}
"""

from __future__ import annotations

import re
from typing import Any

from recorder.shapes import branch, types_of

Rules = dict[str, list[dict[str, Any]]]

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def child_path(path: str, key: str) -> str | None:
    """JSONPath for an object member; None when the core's JSONPath cannot name it (a quote)."""
    if _DOTTED.match(key):
        return f"{path}.{key}"
    if "'" in key:
        return None
    return f"{path}['{key}']"


def body_rules(schema: dict[str, Any], example: Any, path: str = "$") -> Rules:
    """Matchers for `example` and everything below it, keyed by JSONPath, in document order."""
    rules: Rules = {}
    kinds = types_of(schema) - {"null"}
    if len(kinds) != 1:
        return rules  # absent, only null, or mixed types: the example value stands as it is
    kind = kinds.pop()
    node = branch(schema, kind)
    if kind == "object" and isinstance(example, dict):
        props = node.get("properties", {})
        for key, value in example.items():
            sub = child_path(path, key)
            if sub is not None and key in props:
                rules.update(body_rules(props[key], value, sub))
    elif kind == "array" and isinstance(example, list):
        rules[path] = [{"match": "type", "min": 1 if node.get("x-minItems", 0) >= 1 else 0}]
        if example and "items" in node:
            rules.update(body_rules(node["items"], example[0], f"{path}[*]"))
    elif example is not None:
        rules[path] = [_scalar_matcher(kind, node)]
    return rules


def _scalar_matcher(kind: str, node: dict[str, Any]) -> dict[str, Any]:
    if kind in ("integer", "number"):
        return {"match": node.get("x-number", "integer" if kind == "integer" else "number")}
    return {"match": "type"}


def example_body(schema: dict[str, Any], value: Any) -> Any:
    """The observed value trimmed to what the contract can promise.

    Keys that were missing from some observations are left out (the Pact core fails on an expected
    key that is missing, so an optional field cannot be in the example), and arrays keep only their
    first element: the array matcher compares every actual element with it.
    """
    if isinstance(value, dict):
        node = branch(schema, "object")
        required = set(node.get("required", ()))
        props = node.get("properties", {})
        return {k: example_body(props.get(k, {}), v) for k, v in value.items() if k in required}
    if isinstance(value, list):
        node = branch(schema, "array")
        return [example_body(node.get("items", {}), value[0])] if value else []
    return value
