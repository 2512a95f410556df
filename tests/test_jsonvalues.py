"""Bodies are parsed with orjson where it reads what the json module reads, and by the json module
everywhere else: the same values either way, and no number a pact cannot carry."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.formats import json_text

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

SAME = [
    b'{"a": 1, "b": [true, false, null], "c": "x"}',
    b"123456789012345678901234567890",  # beyond 64 bits: orjson would read a float
    b'{"n": -18446744073709551616, "m": 18446744073709551615}',
    b'{"big":\n\n                          123456789012345678901234567890}',  # far from its colon
    b'{"id": "00000000000000000000000000000042"}',  # a zero-padded id: digits inside a string
    b'"\\ud800"',  # a lone surrogate: orjson refuses it, the json module reads it
    b'\xef\xbb\xbf{"bom": 1}',
    b'{"a": 1, "b": 2, "a": 3}',
    b"[1.0, 1e5, 0.1, -0.0, 2.2250738585072011e-308, 1e-400]",
    b'{"digits": "' + b"7" * 1_000_000 + b'"}',  # a megabyte of digits in a string: looked at in one pass
]


@pytest.mark.parametrize("document", SAME)
def test_a_document_reads_as_the_json_module_reads_it(document):
    value = json_text.loads(document)
    assert value == json.loads(document) and repr(value) == repr(json.loads(document))


@pytest.mark.parametrize("document", [b"1e400", b'{"a": NaN}', b"[Infinity]", b'{"a": 1}garbage', b'"\xff"'])
def test_what_a_pact_cannot_carry_is_no_json(document):
    with pytest.raises(ValueError):
        json_text.loads(document)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_document_reads_as_the_json_module_reads_it(value):
    document = json.dumps(value).encode()
    assert repr(json_text.loads(document)) == repr(json.loads(document))
