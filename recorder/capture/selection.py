"""Which exchanges are recorded: the `select` rules.

An exchange is skipped when an exclude rule matches it, or when include rules exist and none matches.
Within a rule every given criterion must match (method AND path ...), and a list matches when any
entry does. The reason names the rule, so a run that recorded nothing can say why.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from recorder.model import Exchange
from recorder.rules import Ruleset, Select, operation_matches, status_matches
from recorder.values import request_operation


def matches(rule: Select, exchange: Exchange) -> bool:
    ctype = (exchange.response_header("content-type") or "").split(";")[0].strip().lower()
    checks = (
        (rule.method, lambda: exchange.method.upper() in {m.upper() for m in rule.method}),
        (rule.host, lambda: any(fnmatchcase(exchange.host.lower(), h.lower()) for h in rule.host)),
        (rule.path, lambda: any(fnmatchcase(exchange.path, p) for p in rule.path)),
        (rule.status, lambda: any(status_matches(p, exchange.status) for p in rule.status)),
        (rule.content_type, lambda: any(fnmatchcase(ctype, c.lower()) for c in rule.content_type)),
        (rule.request_header, lambda: any(exchange.request_header(h) is not None for h in rule.request_header)),
        (rule.operation, lambda: any(operation_matches(p, request_operation(exchange)) for p in rule.operation)),
    )
    return all(check() for given, check in checks if given)


def is_reset(rules: Ruleset, exchange: Exchange) -> str | None:
    """The name of the select rule that calls this exchange a reset of the provider, or None."""
    return next((r.name for r in rules.select if r.action == "reset" and matches(r, exchange)), None)


def skip_reason(rules: Ruleset, exchange: Exchange) -> str | None:
    """Why the rules leave this exchange out, or None to record it."""
    for rule in rules.select:
        if rule.action == "exclude" and matches(rule, exchange):
            return f"excluded by select rule {rule.name!r}"
    includes = [r for r in rules.select if r.action == "include"]
    if includes and not any(matches(r, exchange) for r in includes):
        names = ", ".join(repr(r.name) for r in includes)
        return f"not included by any include rule ({names})"
    return None
