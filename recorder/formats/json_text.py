"""JSON as a Pact file can carry it: finite numbers only.

Python's json module reads `1e400` as infinity and accepts the non-standard NaN and Infinity; a pact
holding them is not JSON any more. Such documents are treated as not JSON at all.

Every recorded body is parsed, so orjson does it (twice as fast) where it reads what the json module
would: an integer beyond 64 bits (orjson makes it a float) and whatever orjson refuses (a lone
surrogate, a byte order mark, 1e400) go to the json module, which decides.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 20  # 20 digits in a row: maybe an integer orjson would read as a float


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def _long_integer(data: bytes) -> bool:
    """Might the document hold an integer of 20 digits or more? With digits made zeros and whitespace
    gone, such a number is 20 zeros after a colon, a comma, a bracket or a minus, or at the start (long
    runs of digits inside strings, zero-padded ids, are common and do not count). Linear, C speed."""
    compact = data.translate(_DIGITS, b" \t\n\r")
    return compact.startswith(_LONG_INTEGER) or any(p + _LONG_INTEGER in compact for p in (b":", b",", b"[", b"-"))


def loads(data: bytes | str) -> Any:
    """json.loads, but ValueError for numbers a float cannot hold and for NaN/Infinity."""
    if isinstance(data, bytes) and not _long_integer(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data, parse_float=_finite, parse_constant=_constant)
