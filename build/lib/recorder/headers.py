"""Which headers belong in a contract, and with which matchers.

Transport noise (set by clients, servers and proxies, or different on every response) is dropped:
a contract that pins `Date` or `Content-Length` fails for reasons nobody cares about. Content-Type and
Location keep a regex, so `application/json; charset=utf-8` and a freshly assigned id still pass.
"""

from __future__ import annotations

import re
from typing import Any

from recorder.endpoints import path_regex, to_endpoint
from recorder.model import Headers
from recorder.pattern import escape
from recorder.redact import redacted_regex

TRANSPORT = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "host",
        "via",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "traceparent",
        "tracestate",
        "x-request-id",
        "x-correlation-id",
        "x-trace-id",
        "request-id",
        "x-amzn-trace-id",
    }
)
REQUEST_NOISE = TRANSPORT | {
    "user-agent",
    "accept-encoding",
    "cache-control",
    "pragma",
    "if-none-match",
    "if-modified-since",
    "origin",
    "referer",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "dnt",
    "upgrade-insecure-requests",
    "priority",
}
RESPONSE_NOISE = TRANSPORT | {
    "date",
    "server",
    "content-encoding",
    "etag",
    "last-modified",
    "expires",
    "age",
    "cache-control",
    "pragma",
    "vary",
    "x-powered-by",
    "x-runtime",
    "x-response-time",
    "server-timing",
    "strict-transport-security",
    "alt-svc",
    "nel",
    "report-to",
    "x-cache",
    "x-served-by",
    "cf-ray",
    "keep-alive",
}

# The Pact core splits actual values of these headers on commas before comparing (pact_models
# headers.rs), so in V4 their expected values must be split the same way.
MULTI_VALUE = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-expose-headers",
        "access-control-request-headers",
        "allow",
        "cache-control",
        "if-match",
        "if-none-match",
        "vary",
    }
)


def canonical(name: str) -> str:
    """content-type -> Content-Type, so HTTP/1 and HTTP/2 recordings give the same file."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def kept(headers: Headers, noise: frozenset[str]) -> dict[str, str]:
    """The headers a contract keeps, canonical names sorted, repeated headers joined with ', '."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() not in noise:
            out.setdefault(canonical(name), []).append(value)
    return {k: ", ".join(v) for k, v in sorted(out.items())}


def header_rules(headers: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Regex matchers for headers whose exact value a contract should not pin."""
    rules = {}
    if (ctype := headers.get("Content-Type")) is not None:
        rules["Content-Type"] = [{"match": "regex", "regex": content_type_regex(ctype)}]
    if (location := headers.get("Location")) is not None:
        rules["Location"] = [{"match": "regex", "regex": location_regex(location)}]
    for name, value in headers.items():
        if (regex := redacted_regex(value)) is not None:
            rules[name] = [{"match": "regex", "regex": regex}]
    return rules


def content_type_regex(value: str) -> str:
    """The media type exactly, any parameters (charset, boundary) allowed."""
    media = value.split(";", 1)[0].strip()
    return f"^{escape(media)}(\\s*;.*)?$"


def location_regex(value: str) -> str:
    """A Location that points at the same kind of resource, on any host (proxies rewrite hosts)."""
    m = re.match(r"^(https?://[^/]+)?(/[^?#]*)?(\?[^#]*)?(#.*)?$", value)
    if not m or not m.group(2):
        return f"^{escape(value)}$"
    path = path_regex(to_endpoint(m.group(2))[0])[1:-1]  # without its own anchors
    query = r"(\?.*)?" if m.group(3) else ""
    return f"^(https?://[^/]+)?{path}{query}$"
