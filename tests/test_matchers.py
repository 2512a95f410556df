"""Observed bodies -> matching rules and example, case by case."""

import pytest

from recorder.matchers import body_rules, example_body
from recorder.shapes import ShapeBuilder


def infer(*docs):
    b = ShapeBuilder()
    for d in docs:
        b.add_object(d)
    schema = b.to_schema()
    example = example_body(schema, docs[0])
    return example, body_rules(schema, example)


CASES = {
    "integers get an integer matcher": ([{"id": 1}, {"id": 2}], {"$.id": [{"match": "integer"}]}),
    "floats get a decimal matcher": ([{"price": 1.5}, {"price": 2.25}], {"$.price": [{"match": "decimal"}]}),
    "a field seen as integer and as float gets a number matcher": (
        [{"n": 1}, {"n": 2.5}],
        {"$.n": [{"match": "number"}]},
    ),
    "strings and booleans are matched by type": (
        [{"s": "a", "b": True}],
        {"$.s": [{"match": "type"}], "$.b": [{"match": "type"}]},
    ),
    "non-empty arrays get type with min 1 and rules for their elements": (
        [{"tags": ["a", "b"]}],
        {"$.tags": [{"match": "type", "min": 1}], "$.tags[*]": [{"match": "type"}]},
    ),
    "an array seen empty gets min 0": (
        [{"tags": ["a"]}, {"tags": []}],
        {"$.tags": [{"match": "type", "min": 0}], "$.tags[*]": [{"match": "type"}]},
    ),
    "nested objects in arrays get element paths": (
        [{"items": [{"id": 1, "price": 2.5}]}],
        {
            "$.items": [{"match": "type", "min": 1}],
            "$.items[*].id": [{"match": "integer"}],
            "$.items[*].price": [{"match": "decimal"}],
        },
    ),
    "a root array is matched at $": (
        [[{"id": 1}]],
        {"$": [{"match": "type", "min": 1}], "$[*].id": [{"match": "integer"}]},
    ),
    "keys that are not identifiers use bracket notation": (
        [{"with space": 1, "x-y": 2}],
        {"$['with space']": [{"match": "integer"}], "$.x-y": [{"match": "integer"}]},
    ),
    "a key with a quote cannot be named in JSONPath and gets no rule": ([{"it's": 1}], {}),
    "a field only ever null gets no rule": ([{"gone": None}], {}),
    "a field of mixed types keeps its example value": ([{"v": 1}, {"v": "one"}], {}),
}


@pytest.mark.parametrize("case", CASES)
def test_inference_case(case):
    docs, rules = CASES[case]
    assert infer(*docs)[1] == rules


def test_fields_missing_from_some_responses_are_left_out_of_the_example():
    example, rules = infer({"id": 1, "nick": "a"}, {"id": 2})
    assert example == {"id": 1}
    assert "$.nick" not in rules


def test_arrays_keep_only_their_first_element_in_the_example():
    assert infer({"items": [{"id": 1}, {"id": 2}, {"id": 3}]})[0] == {"items": [{"id": 1}]}
