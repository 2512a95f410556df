"""Incremental JSON shapes: genson's SchemaBuilder with our own strategies for evidence.

genson merges every observed document into one JSON schema (types per field, which keys were in every
object). Our strategies keep, per node, what inference and review need, in `x-` keywords:

* `x-samples`  how many values were seen here;   `x-example` the first one (a non-null example for
  nullable fields);   `x-distinct` the distinct scalar values, up to DISTINCT_CAP;
* strings: `x-formats`, the formats (in rule order) that every value seen so far matched;
* numbers: `x-number`, integer / decimal (only floats seen) / number (both) / zero (only 0 seen: any number);
* arrays: `x-minItems`, the shortest array seen;   objects: `x-present`, how often each key was there.

Memory per node is bounded (DISTINCT_CAP values plus one example), whatever the traffic.

    >>> b = shape_builder()
    >>> for doc in ({"id": 1, "at": "2024-05-01T10:00:00Z"}, {"id": 2, "at": None}):
    ...     b.add_object(doc)
    >>> s = b.to_schema()["properties"]
    >>> s["id"]["x-number"], s["id"]["x-distinct"], branch(s["at"], "string")["x-formats"]
    ('integer', [1, 2], ['date-time'])
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from genson import SchemaBuilder, SchemaNode
from genson.schema.strategies import Boolean, List, Null, Number, Object, String

from recorder.rules import Format, Ruleset, defaults

DISTINCT_CAP = 20

_tally = threading.local()


def lessons() -> int:
    """How many times, in this thread, a shape learned something from a value: a new key, type, distinct
    value, example or number kind, a format ruled out, a key no longer always there, a shorter array.
    Everything else a value does is counting. Read before and after adding a value: equal means the
    value taught nothing (see recorder.infer.sampling)."""
    return getattr(_tally, "n", 0)


def _learned() -> None:
    _tally.n = getattr(_tally, "n", 0) + 1


class _Evidence:
    """Mixin for strategies: counts samples, keeps the first value and (scalars) distinct values."""

    KEYS = ("x-samples", "x-example", "x-distinct", "x-distinct-overflow")
    SCALAR = True

    def _init_evidence(self) -> None:
        self._samples = 0
        self._example: Any = None
        self._distinct: set = set()
        self._overflow = False

    def _see(self, obj: Any) -> None:
        if self._samples == 0:
            self._example = obj
            _learned()
        self._samples += 1
        if self.SCALAR and not self._overflow and obj not in self._distinct:
            self._distinct.add(obj)
            _learned()
            if len(self._distinct) > DISTINCT_CAP:
                self._distinct.pop()
                self._overflow = True

    def _merge_evidence(self, schema: dict) -> None:
        if self._samples == 0 and "x-example" in schema:
            self._example = schema["x-example"]
        self._samples += schema.get("x-samples", 0)
        for v in schema.get("x-distinct", ()):
            self._see_distinct_only(v)
        self._overflow = self._overflow or schema.get("x-distinct-overflow", False)

    def _see_distinct_only(self, v: Any) -> None:
        if not self._overflow:
            self._distinct.add(v)
            self._overflow = len(self._distinct) > DISTINCT_CAP

    def _evidence(self, schema: dict) -> dict:
        schema["x-samples"] = self._samples
        schema["x-example"] = self._example
        if self.SCALAR:
            schema["x-distinct"] = sorted(self._distinct, key=lambda v: (str(type(v)), v))
            if self._overflow:
                schema["x-distinct-overflow"] = True
        return schema


def _strategy(base, extra_keys=(), scalar=True):
    """A genson strategy class that also keeps evidence."""

    class WithEvidence(_Evidence, base):
        KEYWORDS = (*base.KEYWORDS, *_Evidence.KEYS, *extra_keys)
        SCALAR = scalar

        def __init__(self, node_class):
            super().__init__(node_class)
            self._init_evidence()

        def add_object(self, obj):
            super().add_object(obj)
            self._see(obj)

        def add_schema(self, schema):
            super().add_schema(schema)
            self._merge_evidence(schema)

        def to_schema(self):
            return self._evidence(super().to_schema())

    WithEvidence.__name__ = f"{base.__name__}Evidence"
    return WithEvidence


class NumberKind(_strategy(Number, ("x-number",))):
    def __init__(self, node_class):
        super().__init__(node_class)
        self._kinds: set[str] = set()

    def add_schema(self, schema):
        super().add_schema(schema)
        if kind := schema.get("x-number"):
            self._kinds |= {"integer", "decimal"} if kind == "number" else {kind}

    def add_object(self, obj):
        super().add_object(obj)
        self._kind("decimal" if isinstance(obj, float) else "integer" if obj else "zero")

    def _kind(self, kind: str) -> None:
        if kind not in self._kinds:
            self._kinds.add(kind)
            _learned()

    def to_schema(self):
        schema = super().to_schema()
        # A 0 says nothing of a number's kind (a progress at 0 of 0.0555 later): alone, it is any number.
        kinds = {"integer" if k == "zero" else k for k in self._kinds} if self._kinds != {"zero"} else {"zero"}
        schema["x-number"] = "number" if len(kinds) > 1 else next(iter(kinds), "integer")
        return schema


TUPLE_MAX = 8  # a longer array is a list of things, not a tuple of places


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"  # a place holds a number (a timestamp may come as 1796691762 or 1796691762.5)
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


class ListLength(_strategy(List, ("x-minItems", "x-places"), scalar=False)):
    def __init__(self, node_class):
        super().__init__(node_class)
        self._min: int | None = None
        # The JSON types seen at each place of the non-empty arrays, while they all have one length up to
        # TUPLE_MAX (`[timestamp, "value"]`); None once they do not.
        self._places: list[set[str]] | None = []

    def _seen(self, n: int) -> None:
        if self._min is None or n < self._min:
            self._min = n
            _learned()

    def _place(self, types: list[list[str]]) -> None:
        """Add the types of one array's places (or of a schema's: several per place)."""
        places = self._places
        if places is None or not types:
            return
        if len(types) > TUPLE_MAX or places and len(places) != len(types):
            self._places = None
            _learned()
            return
        if not places:
            places.extend(set() for _ in types)
        for seen, these in zip(places, types, strict=True):
            if not seen.issuperset(these):
                seen.update(these)
                _learned()

    def add_schema(self, schema):
        super().add_schema(schema)
        if "x-minItems" in schema:
            self._seen(schema["x-minItems"])
        if "x-places" in schema:
            if schema["x-places"] is None:
                self._places = None
            else:
                self._place(schema["x-places"])

    def add_object(self, obj):
        if self._samples and not self._example and obj:
            self._example = obj  # prefer a non-empty example: its first element carries the types
            _learned()
        super().add_object(obj)
        self._seen(len(obj))
        self._place([[json_type(v)] for v in obj])

    def to_schema(self):
        schema = super().to_schema()
        schema["x-minItems"] = self._min or 0
        schema["x-places"] = None if self._places is None else [sorted(s) for s in self._places]
        return schema


class ObjectPresence(_strategy(Object, ("x-present",), scalar=False)):
    def __init__(self, node_class):
        super().__init__(node_class)
        self._present: dict[str, int] = {}

    def add_object(self, obj):
        required = None if self._required is None else len(self._required)  # (genson narrows it in place)
        super().add_object(obj)
        if required is not None and len(self._required) != required:
            _learned()
        for key in obj:
            if key not in self._present:
                _learned()
            self._present[key] = self._present.get(key, 0) + 1

    def add_schema(self, schema):
        super().add_schema(schema)
        for key, n in schema.get("x-present", {}).items():
            self._present[key] = self._present.get(key, 0) + n

    def to_schema(self):
        schema = super().to_schema()
        schema["x-present"] = dict(sorted(self._present.items()))
        return schema


def _string_strategy(formats: tuple[Format, ...]):
    tests = [(f.name, re.compile(f.test)) for f in formats]

    class StringFormats(_strategy(String, ("x-formats",))):
        def __init__(self, node_class):
            super().__init__(node_class)
            self._alive = [name for name, _ in tests]
            self._tests = tests  # (name, regex) of the formats still alive (the fast path narrows it)

        def add_object(self, obj):
            super().add_object(obj)
            if self._alive:
                alive = [name for name, test in tests if name in self._alive and test.search(obj)]
                if alive != self._alive:
                    self._alive = alive
                    _learned()

        def add_schema(self, schema):
            super().add_schema(schema)
            if "x-formats" in schema:
                self._alive = [n for n in self._alive if n in schema["x-formats"]]

        def to_schema(self):
            schema = super().to_schema()
            schema["x-formats"] = list(self._alive)
            return schema

    return StringFormats


class _TypedNode(SchemaNode):
    """genson's node, which finds the strategy for each value by asking every active one whether it
    matches; here the answer is remembered per Python type (our strategies match by type, and genson
    only ever adds strategies for values), which matters for large arrays."""

    def __init__(self):
        super().__init__()
        self._by_type: dict[type, object] = {}

    def add_object(self, obj):
        strategy = self._by_type.get(type(obj))
        if strategy is None:
            strategy = self._by_type[type(obj)] = self._get_strategy_for_object(obj)
        strategy.add_object(obj)
        return self


# -- the fast path ----------------------------------------------------------------------------------
# Every value of every body goes through add_object, so the strategies above cost a chain of super()
# calls per value (ours, then genson's, which for scalars does nothing). These do the same work in
# one call each, and no work that cannot change the shape: a string's formats are only tested while
# some are still alive, a repeated distinct value is not added again. tests/test_fast_path.py proves
# they build the same schema, and the same pact byte for byte, as the strategies they replace.


class _FastNumber(NumberKind):
    def add_object(self, obj):
        self._see(obj)
        if isinstance(obj, float):
            self._type = "number"  # genson's Number.add_object
            self._kind("decimal")
        else:
            self._kind("integer" if obj else "zero")


class _FastList(ListLength):
    def add_object(self, obj):
        if self._samples and not self._example and obj:
            self._example = obj
            _learned()
        items = self._items
        for item in obj:
            items.add_object(item)
        self._see(obj)
        self._seen(len(obj))
        if self._places is not None and obj:
            self._place([[json_type(v)] for v in obj])


class _FastObject(ObjectPresence):
    def add_object(self, obj):
        if self._pattern_properties:  # only from a schema with patternProperties: genson's general way
            return super().add_object(obj)
        properties, present = self._properties, self._present
        for key, value in obj.items():
            properties[key].add_object(value)
            if key not in present:
                present[key] = 0
                _learned()
            present[key] += 1
        keys = set(obj)
        if self._required is None:
            self._required = keys
        elif not self._required <= keys:
            self._required = self._required & keys
            _learned()
        self._see(obj)


def _fast_scalar(base):
    """Null and Boolean: genson's add_object does nothing for them."""

    class FastScalar(base):
        def add_object(self, obj):
            self._see(obj)

    FastScalar.__name__ = f"Fast{base.__name__}"
    return FastScalar


def _fast_string(base):
    class FastString(base):
        def add_object(self, obj):
            self._see(obj)
            if self._alive:
                alive = [name for name, test in self._tests if test.search(obj)]
                if len(alive) != len(self._tests):
                    self._alive = alive
                    self._tests = [(name, test) for name, test in self._tests if name in alive]
                    _learned()

        def add_schema(self, schema):
            super().add_schema(schema)
            self._tests = [(name, test) for name, test in self._tests if name in self._alive]

    return FastString


@cache
def _builder_class(formats: tuple[Format, ...], fast: bool = True) -> type[SchemaBuilder]:
    strategies = (_strategy(Null), _strategy(Boolean), NumberKind, _string_strategy(formats), ListLength,
                  ObjectPresence)  # fmt: skip
    if fast:
        null, boolean, _, string, _, _ = strategies
        strategies = (_fast_scalar(null), _fast_scalar(boolean), _FastNumber, _fast_string(string), _FastList,
                      _FastObject)  # fmt: skip

    class ShapeBuilder(SchemaBuilder):
        EXTRA_STRATEGIES = strategies

    ShapeBuilder.NODE_CLASS = type("ShapeNode", (_TypedNode,), {"STRATEGIES": ShapeBuilder.STRATEGIES})
    return ShapeBuilder


def shape_builder(rules: Ruleset | None = None, fast: bool = True) -> SchemaBuilder:
    """A fresh builder whose string strategy tests the rule set's formats; `fast=False`: the reference
    strategies the fast path must agree with (tests only)."""
    return _builder_class((rules or defaults()).formats, fast)(schema_uri=None)


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
        if json_type in types_of(n) or (json_type == "number" and "integer" in types_of(n)):
            return n
    return {}


_SCALARS = frozenset({"string", "integer", "number", "boolean"})


def _alternative(own: dict[str, Any], pooled: dict[str, Any]) -> set[str]:
    """The keys `own` always has that the pooled objects hold exactly where they lack another key `own` never
    has: one of two shapes the endpoint answers (an instant query's `value`, a range query's `values`), not a
    key an encoder leaves out, which no other key stands in for."""
    present, total = pooled.get("x-present", {}), pooled.get("x-samples", 0)
    rivals = [present[k] for k in present if k not in own.get("properties", {})]
    return {k for k in own.get("required", ()) if any(present.get(k, 0) + n == total for n in rivals)}


def relaxed(own: dict[str, Any], pooled: dict[str, Any]) -> dict[str, Any]:
    """`own` with every key that `pooled` (the same endpoint's responses over the whole recording) shows
    is not always there made optional, at every depth: an interaction that saw a key in each of its
    responses may have seen only items that happened to hold it (a protobuf or `omitempty` encoder leaves
    an empty list out). A scalar the pooled responses show null somewhere may be null here too (a run not
    started yet has no start time). `own` itself is not changed."""
    kinds = types_of(own)
    if kinds and kinds <= _SCALARS and "null" in types_of(pooled):
        return {"anyOf": [*own.get("anyOf", [own]), {"type": "null"}]}
    if "anyOf" in own:
        leaves = _SCALARS | {"null"}  # a scalar branch is made nullable above, not one by one
        return own | {"anyOf": [n if types_of(n) <= leaves else relaxed(n, pooled) for n in own["anyOf"]]}
    if "object" in kinds and (other := branch(pooled, "object")).get("properties") is not None:
        props, theirs = own.get("properties", {}), other["properties"]
        always = set(other.get("required", ())) | _alternative(own, other)
        return own | {
            "required": [k for k in own.get("required", ()) if k in always],
            "properties": {k: relaxed(v, theirs[k]) if k in theirs else v for k, v in props.items()},
        }
    items = branch(pooled, "array").get("items")
    if "array" in kinds and isinstance(own.get("items"), dict) and isinstance(items, dict):
        return own | {"items": relaxed(own["items"], items)}
    return own
