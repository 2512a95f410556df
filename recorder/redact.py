"""Secrets never reach disk: credentials are replaced before an exchange is kept.

Which headers are credentials is a rule (`action: secret`, rules/default.yaml). The placeholder keeps
what a contract can promise about the value (its scheme, its cookie names) and `redacted_regex` turns
it into a matcher that says the value must be present and has that shape:

    >>> redact_value("authorization", "Bearer eyJhbGciOi.x.y")
    'Bearer <redacted>'
    >>> redacted_regex('Bearer <redacted>')
    '^Bearer .+$'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from recorder.model import Exchange, Headers
from recorder.pattern import escape

PLACEHOLDER = "<redacted>"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*) +\S")


def redact_value(name: str, value: str) -> str:
    lname = name.lower()
    if lname in ("authorization", "proxy-authorization") and (m := _SCHEME.match(value)):
        return f"{m.group(1)} {PLACEHOLDER}"
    if lname == "cookie":
        names = [c.split("=", 1)[0].strip() for c in value.split(";")]
        return "; ".join(f"{n}={PLACEHOLDER}" for n in names if n)
    if lname == "set-cookie":
        return f"{value.split('=', 1)[0].strip()}={PLACEHOLDER}" if "=" in value else PLACEHOLDER
    return PLACEHOLDER


def redacted_regex(value: str) -> str | None:
    """The matcher for a redacted value: the literal parts kept, each placeholder any non-empty text."""
    if PLACEHOLDER not in value:
        return None
    return "^" + ".+".join(escape(p) for p in value.split(PLACEHOLDER)) + "$"


def _redact_headers(headers: Headers, is_secret: Callable[[str], bool]) -> Headers:
    return tuple((k, redact_value(k, v) if is_secret(k) else v) for k, v in headers)


def redact(exchange: Exchange, is_secret: Callable[[str, str], bool]) -> Exchange:
    """The exchange with credential headers replaced; `is_secret(name, side)` says which are.
    (Bodies, query strings and secret-looking values: the reliability issue.)"""
    return replace(
        exchange,
        request_headers=_redact_headers(exchange.request_headers, lambda n: is_secret(n, "request")),
        response_headers=_redact_headers(exchange.response_headers, lambda n: is_secret(n, "response")),
    )
