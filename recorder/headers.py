"""Which headers belong in a contract, and with which matchers, as the rule files say.

Each header rule names headers and an action; the last rule (in merge order: later files win) that
names a header decides. Headers no rule names are kept with their exact value. Default actions:
transport noise (Date, Server, Content-Length, ...) is dropped, Content-Type keeps a regex that
allows parameters, Location one for the same kind of resource on any host, and credentials are
redacted (see redact.py) and keep a regex of their shape.
"""

from __future__ import annotations

import re
from typing import Any

from recorder.endpoints import PathRules, path_regex, to_endpoint
from recorder.model import Headers
from recorder.pattern import escape
from recorder.redact import redacted_regex
from recorder.rules import HeaderRule, Ruleset

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

    def rule(self, name: str, side: str) -> HeaderRule | None:
        lname = name.lower()
        return next((r for r in self._rules if lname in r.headers and r.side in (side, "both")), None)

    def secret(self, name: str, side: str) -> bool:
        return (r := self.rule(name, side)) is not None and r.action == "secret"

    def kept(self, headers: Headers, side: str) -> dict[str, str]:
        """The headers a contract keeps, canonical names sorted, repeated headers joined with ', '."""
        out: dict[str, list[str]] = {}
        for name, value in headers:
            rule = self.rule(name, side)
            if rule is None or rule.action != "drop":
                out.setdefault(canonical(name), []).append(value)
        return {k: ", ".join(v) for k, v in sorted(out.items())}

    def matchers(self, headers: dict[str, str], side: str) -> dict[str, list[dict[str, Any]]]:
        """Regex matchers for kept headers whose exact value the contract should not pin."""
        out = {}
        for name, value in headers.items():
            if regex := redacted_regex(value) or self._regex(name, value, side):
                out[name] = [{"match": "regex", "regex": regex}]
        return out

    def _regex(self, name: str, value: str, side: str) -> str | None:
        rule = self.rule(name, side)
        match rule.action if rule else None:
            case "regex":
                return rule.regex
            case "media-type":
                return content_type_regex(value)
            case "resource-path":
                return (
                    link_regex(value, self._paths)
                    if value.lstrip().startswith("<")
                    else location_regex(value, self._paths)
                )
        return None


def content_type_regex(value: str) -> str:
    """The media type exactly, any parameters (charset, boundary) allowed."""
    media = value.split(";", 1)[0].strip()
    return f"^{escape(media)}(\\s*;.*)?$"


def location_regex(value: str, paths: PathRules | None = None) -> str:
    """A URL to the same kind of resource, on any host (proxies rewrite hosts)."""
    m = re.match(r"^(https?://[^/]+)?(/[^?#]*)?(\?[^#]*)?(#.*)?$", value)
    if not m or not m.group(2):
        return f"^{escape(value)}$"
    path = path_regex(to_endpoint(m.group(2), paths)[0])[1:-1]  # without its own anchors
    query = r"(\?.*)?" if m.group(3) else ""
    return f"^(https?://[^/]+)?{path}{query}$"


_LINK_TARGET = re.compile(r"<([^>]*)>")


def link_regex(value: str, paths: PathRules | None = None) -> str:
    """A Link header (RFC 8288: `<URL>; rel="next", ...`) whose URLs may be on any host, as Location's."""
    parts, last = [], 0
    for m in _LINK_TARGET.finditer(value):
        parts += [escape(value[last : m.start()]), "<", location_regex(m.group(1), paths)[1:-1], ">"]
        last = m.end()
    return "^" + "".join(parts) + escape(value[last:]) + "$"
