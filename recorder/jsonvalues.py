"""JSON as a Pact file can carry it: finite numbers only.

Python's json module reads `1e400` as infinity and accepts the non-standard NaN and Infinity; a pact
holding them is not JSON any more. Such documents are treated as not JSON at all.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def loads(data: bytes | str) -> Any:
    """json.loads, but ValueError for numbers a float cannot hold and for NaN/Infinity."""
    return json.loads(data, parse_float=_finite, parse_constant=_constant)
