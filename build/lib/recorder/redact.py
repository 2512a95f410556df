"""Secrets never reach disk: credentials are replaced before an exchange is kept.

The placeholder keeps what a contract can promise about the value (its scheme, its cookie name) and
`redacted_regex` turns it into a matcher that says the value must be present and has that shape:

    >>> redact_value("authorization", "Bearer eyJhbGciOi.x.y")
    'Bearer <redacted>'
    >>> redacted_regex('Bearer <redacted>')
    '^Bearer .+$'
"""

from __future__ import annotations

import re
from dataclasses import replace

from recorder.model import Exchange, Headers
from recorder.pattern import escape

PLACEHOLDER = "<redacted>"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-amz-security-token",
    }
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*) +\S")


def redact_value(name: str, value: str) -> str:
    lname = name.lower()
    if lname in ("authorization", "proxy-authorization") and (m := _SCHEME.match(value)):
        return f"{m.group(1)} {PLACEHOLDER}"
    if lname in ("cookie", "set-cookie"):
        names = [c.split("=", 1)[0].strip() for c in value.split(";" if lname == "cookie" else "\n")]
        return "; ".join(f"{n}={PLACEHOLDER}" for n in names if n)
    return PLACEHOLDER


def redacted_regex(value: str) -> str | None:
    """The matcher for a redacted value: the literal parts kept, each placeholder any non-empty text."""
    if PLACEHOLDER not in value:
        return None
    return "^" + ".+".join(escape(p) for p in value.split(PLACEHOLDER)) + "$"


def redact_headers(headers: Headers) -> Headers:
    return tuple((k, redact_value(k, v) if k.lower() in SECRET_HEADERS else v) for k, v in headers)


def redact(exchange: Exchange) -> Exchange:
    """The exchange with credentials in headers replaced (bodies and query strings: issue 6)."""
    return replace(
        exchange,
        request_headers=redact_headers(exchange.request_headers),
        response_headers=redact_headers(exchange.response_headers),
    )
