r"""Which headers belong in a contract, and with which matchers, as the rule files say.

Each header rule names headers and an action; the last rule (in merge order: later files win) that
names a header decides. Default actions: transport noise (Date, Server, Content-Length, ...) is
dropped, Content-Type keeps a regex that allows parameters, Location and Link one for the same kind
of resource on any host, lists (Allow, Vary, CORS) an order-free set, counts an integer, ETags and
HTTP dates their format, and credentials are redacted (see redact.py) and keep a regex of their shape.

A response header is pinned to a literal only when it is constant and meaningful as a constant: one
that no rule names is judged by the values seen (the same items in other orders: a set; URLs: a
resource path; integers: an integer), since a fresh provider answers with other counts, hosts,
cursors and set orders:

    >>> set_regex(["GET, HEAD", "HEAD, GET"])
    '^(?:GET|HEAD)(?:\\s*,\\s*(?:GET|HEAD))*$'
"""

from __future__ import annotations

import re
from typing import Any

from recorder.infer.endpoints import PathRules, path_regex, to_endpoint
from recorder.model import Headers
from recorder.pattern import escape
from recorder.rules import HeaderRule, Ruleset
from recorder.secrets.redact import redacted_regex

INTEGER = "^-?[0-9]+$"
ETAG = r'^(W/)?"[^"]*"$'
ETAG_CONDITION = r'^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$'  # If-Match, If-None-Match: * or a list
HTTP_DATE = (
    "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    "[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
)
UNIX_TIME = r"^[0-9]{10}(\.[0-9]{1,9})?$"  # seconds since 1970, 2001 to 2286, a fraction after them
ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
PRESENT = "^.+$"
DECIDED_MAX = 10_000
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")

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


class HeaderPolicy:
    def __init__(self, rules: Ruleset, paths: PathRules | None = None):
        self._rules = tuple(reversed(rules.headers))
        self._paths = paths
        self._decided: dict[tuple[str, str], HeaderRule | None] = {}

    def rule(self, name: str, side: str) -> HeaderRule | None:
        """The rule that decides a header; asked for every header of every exchange, and an API's header
        names repeat: remembered (for the first DECIDED_MAX names)."""
        if (key := (name, side)) in self._decided:
            return self._decided[key]
        lname = name.lower()
        rule = next((r for r in self._rules if lname in r.headers and r.side in (side, "both")), None)
        if len(self._decided) < DECIDED_MAX:
            self._decided[key] = rule
        return rule

    def operation(self, headers: Headers) -> str:
        """The operation a request asks for where a header names it (`action: operation`: an RPC over
        one URL, X-Amz-Target, SOAPAction), else ""."""
        named = [v for k, v in headers if (r := self.rule(k, "request")) is not None and r.action == "operation"]
        return ",".join(named)

    def secret(self, name: str, side: str) -> bool:
        return (r := self.rule(name, side)) is not None and r.action == "secret"

    def kept(self, headers: Headers, side: str, request: Headers = ()) -> dict[str, str]:
        """The headers a contract keeps, canonical names sorted, repeated headers joined with ', '.
        `request` (for a response) decides rules that answer a request header (CORS answers Origin)."""
        asked = {name.lower() for name, _ in request}
        out: dict[str, list[str]] = {}
        for name, value in headers:
            rule = self.rule(name, side)
            if rule is not None and (
                rule.action == "drop" or (rule.request_header and not asked & rule.request_header)
            ):
                continue
            out.setdefault(canonical(name), []).append(value)
        return {k: ", ".join(v) for k, v in sorted(out.items())}

    def matchers(
        self, headers: dict[str, str], side: str, seen: dict[str, list[str]] | None = None
    ) -> dict[str, tuple[list[dict[str, Any]], str]]:
        """(regex matchers, why) for kept headers whose exact value the contract should not pin;
        `seen` holds every distinct value a header had (default: the example's)."""
        out = {}
        for name, value in headers.items():
            values = (seen or {}).get(name) or [value]
            if regex := redacted_regex(value):
                out[name] = ([{"match": "regex", "regex": regex}], "redacted secret")
            elif found := self._regex(name, values, side):
                out[name] = ([{"match": "regex", "regex": found[0]}], found[1])
        return out

    def _regex(self, name: str, values: list[str], side: str) -> tuple[str, str] | None:
        rule = self.rule(name, side)
        if rule is None:
            return inferred_regex(values, self._paths) if side == "response" else sent_url_regex(values)
        why = f"rule {rule.name!r}"
        match rule.action:
            case "regex":
                return rule.regex, why
            case "media-type":  # every media type the interaction was answered in (npm's two JSON kinds)
                return content_type_regex(*values), why
            case "resource-path":
                return resource_regex(values, self._paths), why
            case "set":
                return set_regex(values), why
            case "integer":
                return INTEGER, why
            case "etag":
                etag = ETAG_CONDITION if side == "request" else ETAG
                return (etag, why) if all(re.match(etag, v) for v in values) else (PRESENT, f"{why}: not ETags")
            case "http-date":
                return (
                    (HTTP_DATE, why) if all(re.match(HTTP_DATE, v) for v in values) else (PRESENT, f"{why}: not dates")
                )
        return None


def inferred_regex(values: list[str], paths: PathRules | None = None) -> tuple[str, str] | None:
    """A response header no rule names, judged by its values: None keeps what was seen."""
    if all(_INT.match(v) for v in values):
        return INTEGER, "integers"
    if all(re.match(HTTP_DATE, v) for v in values):
        return HTTP_DATE, "HTTP dates"
    if all(re.match(UNIX_TIME, v) for v in values):
        return UNIX_TIME, "Unix times"
    if all(re.match(ISO_TIME, v) for v in values):  # (a snapshot's or a version's time, handed out)
        return ISO_TIME, "ISO 8601 date-times"
    if all(_URL.match(v) or v.lstrip().startswith("<") for v in values) and any("/" in v for v in values):
        return resource_regex(values, paths), "URLs"
    if len({frozenset(_items(v)) for v in values}) == 1 and len({tuple(_items(v)) for v in values}) > 1:
        return set_regex(values), "the same items in other orders"
    if len(templates := {_HOST.sub("\0", v) for v in values}) == 1 and "\0" in (template := templates.pop()):
        # A URL inside the value (`WWW-Authenticate: Keystone uri="http://HOST/v3"`): the provider names
        # itself by the address it was reached at, another one at verification.
        host = "https?://[^/\\s\"'<>,;]+"
        return "^" + host.join(escape(part) for part in template.split("\0")) + "$", "a URL inside: any host"
    return None


_HOST = re.compile(r"https?://[^/\s\"'<>,;]+")


def sent_url_regex(values: list[str]) -> tuple[str, str] | None:
    """A request header that sends one absolute URL (a copy's source, WebDAV's Destination): the same path
    on any host, as the consumer names the provider it reached (the recorder, a mock, the real one)."""
    paths = {m.group(1) if (m := _ABSOLUTE.match(v)) else None for v in values}
    if len(paths) == 1 and (path := paths.pop()) is not None:
        return f"^https?://[^/]+{escape(path)}$", "a URL: the same path on any host"
    return None


_INT = re.compile(r"^-?[0-9]+$")
_ABSOLUTE = re.compile(r"^https?://[^/?#\s]+(/\S*)$")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def set_regex(values: list[str]) -> str:
    """Any of the items seen (comma-separated), in any order: frameworks build these lists from sets."""
    items = "|".join(escape(i) for i in sorted({i for v in values for i in _items(v)}))
    return f"^(?:{items})(?:\\s*,\\s*(?:{items}))*$"


def resource_regex(values: list[str], paths: PathRules | None = None) -> str:
    """Location's or Link's regex for the first value (a Link: for every link seen)."""
    if values[0].lstrip().startswith("<"):
        return link_regex(values, paths)
    return location_regex(values[0], paths)


def content_type_regex(*values: str) -> str:
    """The media type(s) seen exactly, any parameters (charset, boundary) allowed."""
    media = sorted({v.split(";", 1)[0].strip() for v in values})
    alternatives = escape(media[0]) if len(media) == 1 else "(" + "|".join(escape(m) for m in media) + ")"
    return f"^{alternatives}(\\s*;.*)?$"


def location_regex(value: str, paths: PathRules | None = None) -> str:
    """A URL to the same kind of resource, on any host (proxies rewrite hosts)."""
    m = re.match(r"^(https?://[^/]+)?(/[^?#]*)?(\?[^#]*)?(#.*)?$", value)
    if not m or not m.group(2):
        return f"^{escape(value)}$"
    path = path_regex(to_endpoint(m.group(2), paths)[0])[1:-1]  # without its own anchors
    query = r"(\?.*)?" if m.group(3) else ""
    return f"^(https?://[^/]+)?{path}{query}$"


_LINK_TARGET = re.compile(r"<([^>]*)>")  # at the start of one link


def link_regex(values: list[str] | str, paths: PathRules | None = None) -> str:
    """A Link header (RFC 8288: `<URL>; rel="next", ...`) whose URLs may be on any host, as Location's,
    with any of the links seen (next, prev, ...) in any order: a page further on has a prev link."""
    links = set()
    for value in [values] if isinstance(values, str) else values:
        for link in _LINK.findall(value):
            m = _LINK_TARGET.match(link.strip())
            links.add("<" + location_regex(m.group(1), paths)[1:-1] + ">" + escape(link.strip()[m.end() :]))
    if not links:
        return "^" + escape(values if isinstance(values, str) else values[0]) + "$"
    each = "|".join(sorted(links))
    return f"^(?:{each})(?:\\s*,\\s*(?:{each}))*$"


_LINK = re.compile(r'<[^>]*>(?:[^,"<]|"[^"]*")*')
