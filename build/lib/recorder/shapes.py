"""Incremental JSON shapes: genson's SchemaBuilder with our own strategies.

genson merges every observed document into one JSON schema (types per field, which keys were present
in every object). Two facts it does not keep matter for Pact matchers, so we add strategies for them:

* numbers: genson says `integer` or `number`; we also need to know whether only floats were seen
  (a `decimal` matcher) or both (a `number` matcher): `x-number`;
* arrays: whether an empty array was seen, which decides the `min` of the array matcher: `x-minItems`.
"""

from __future__ import annotations

from typing import Any

from genson import SchemaBuilder
from genson.schema.strategies import List, Number


class NumberKind(Number):
    KEYWORDS = (*Number.KEYWORDS, "x-number")

    def __init__(self, node_class):
        super().__init__(node_class)
        self._kinds: set[str] = set()

    def add_schema(self, schema):
        super().add_schema(schema)
        if kind := schema.get("x-number"):
            self._kinds |= {"integer", "decimal"} if kind == "number" else {kind}

    def add_object(self, obj):
        super().add_object(obj)
        self._kinds.add("decimal" if isinstance(obj, float) else "integer")

    def to_schema(self):
        schema = super().to_schema()
        schema["x-number"] = "number" if len(self._kinds) > 1 else next(iter(self._kinds), "integer")
        return schema


class ListLength(List):
    KEYWORDS = (*List.KEYWORDS, "x-minItems")

    def __init__(self, node_class):
        super().__init__(node_class)
        self._min: int | None = None

    def _seen(self, n: int) -> None:
        self._min = n if self._min is None else min(self._min, n)

    def add_schema(self, schema):
        super().add_schema(schema)
        if "x-minItems" in schema:
            self._seen(schema["x-minItems"])

    def add_object(self, obj):
        super().add_object(obj)
        self._seen(len(obj))

    def to_schema(self):
        schema = super().to_schema()
        schema["x-minItems"] = self._min or 0
        return schema


class ShapeBuilder(SchemaBuilder):
    EXTRA_STRATEGIES = (NumberKind, ListLength)

    def __init__(self):
        super().__init__(schema_uri=None)


def types_of(node: dict[str, Any]) -> set[str]:
    """Every JSON type a schema node allows, whether genson wrote `type: [...]` or `anyOf`."""
    if "anyOf" in node:
        return set().union(*(types_of(n) for n in node["anyOf"]))
    t = node.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


def branch(node: dict[str, Any], json_type: str) -> dict[str, Any]:
    """The part of a (possibly multi-type) node that describes one JSON type."""
    for n in node.get("anyOf", [node]):
        if json_type in types_of(n):
            return n
    return {}
