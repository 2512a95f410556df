"""Regexes we write into pacts. The Pact core uses Oniguruma, not Python's `re`."""

import re

_META = re.compile(r"([.^$*+?()\[\]{}|\\])")


def escape(text: str) -> str:
    """Escape only regex metacharacters (Python's re.escape also escapes spaces and dashes, which
    reads badly in a contract)."""
    return _META.sub(r"\\\1", text)
