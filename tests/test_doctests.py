"""The examples in the core's docstrings run: they are documentation, and must stay true."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

CORE = Path(__file__).parent.parent / "recorder"
WITH_EXAMPLES = sorted(
    ".".join(p.relative_to(CORE).with_suffix("").parts)
    for p in CORE.rglob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_the_examples_in_a_modules_docstrings_hold(name):
    results = doctest.testmod(importlib.import_module(f"recorder.{name}"))
    assert results.attempted and not results.failed
