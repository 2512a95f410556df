"""A pact without the parts of the responses its consumer's tests do not use, and the rules that say so.

Each pruned part (a body member, a whole body with its Content-Type, a header) leaves the example, its
matchers and generators (its own and those below it), and its evidence says why: `left out: not used by
the consumer's tests (N runs)`. The rule file holds one
`fields` rule (`match: ignore`) per endpoint and path, so a later `infer --rules` makes the same choice;
a path another interaction of the same endpoint still needs gets no rule (a rule cannot tell them apart).

    doc = without(doc, [(1, "$.email")], runs=9)   # GET /users/{id} returns 200 loses $.email
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

import yaml

from recorder.tools.replay import HEADER, WHOLE_BODY, http_interactions, withhold

PRUNED_BY = "left out: not used by the consumer's tests ({runs} runs)"


def _below(path: str, key: str) -> bool:
    return key == path or key.startswith((f"{path}.", f"{path}[", f"{path}['"))


def without(doc: dict, pruned: list[tuple[int, str]], runs: int) -> dict:
    """A copy of the pact with the pruned parts (index into its HTTP interactions; a JSONPath, `$` for the
    whole body, `header:name`) left out."""
    doc = copy.deepcopy(doc)
    interactions = http_interactions(doc)
    why = {"by": PRUNED_BY.format(runs=runs), "pruned": True}
    whole = {n for n, path in pruned if path == WHOLE_BODY}
    for n, path in pruned:
        if n in whole and path.startswith(("$.", "$[")):
            continue  # its whole body goes
        response = interactions[n]["response"]
        evidence = (interactions[n].get("comments") or {}).get("pactRecorder", {}).get("evidence")
        if path == WHOLE_BODY:
            _drop_headers(response, "content-type")
            response.pop("body", None)
            for kind in ("matchingRules", "generators"):
                (response.get(kind) or {}).pop("body", None)
            if evidence is not None:
                evidence["response.body"] = {WHOLE_BODY: why}
            continue
        if path.startswith(HEADER):
            for name in _drop_headers(response, path.removeprefix(HEADER)):
                if evidence is not None:
                    evidence.setdefault("response.headers", {})[name] = why
            continue
        body = response.get("body")
        withhold(body["content"] if isinstance(body, dict) and "contentType" in body else body, path)
        for kind in ("matchingRules", "generators"):
            section = (response.get(kind) or {}).get("body")
            for key in [k for k in section or {} if _below(path, k)]:
                del section[key]
        if evidence is not None:
            body_evidence = evidence.setdefault("response.body", {})
            for key in [k for k in body_evidence if _below(path, k)]:
                del body_evidence[key]
            body_evidence[path] = why
    for interaction in interactions:
        _tidy(interaction["response"])
    return doc


def _tidy(response: dict) -> None:
    """No empty sections left behind (`headers: {}`, `matchingRules: {header: {}}`)."""
    for kind in ("matchingRules", "generators"):
        section = response.get(kind)
        if isinstance(section, dict):
            for category in [c for c, rules in section.items() if not rules]:
                del section[category]
    for key in [k for k in ("headers", "matchingRules", "generators") if response.get(k) == {}]:
        del response[key]


def _drop_headers(response: dict, name: str) -> list[str]:
    """A header (lower-case name) out of a response, its matchers and generators too; the names it had."""
    dropped = [k for k in response.get("headers") or {} if k.lower() == name]
    for section, key in ((response, "headers"), (response.get("matchingRules") or {}, "header"),
                         (response.get("generators") or {}, "header")):  # fmt: skip
        for k in [k for k in section.get(key) or {} if k.lower() == name]:
            del section[key][k]
    return dropped


def rules(doc: dict, pruned: list[tuple[int, str]], kept: list[tuple[int, str]]) -> str:
    """The `fields` rules that reproduce the pruning when the pact is inferred again."""
    interactions = http_interactions(doc)

    def endpoint(n: int) -> str | None:
        return (interactions[n].get("comments") or {}).get("pactRecorder", {}).get("endpoint")

    needed = {(endpoint(n), path) for n, path in kept}
    paths: dict[str, set[str]] = defaultdict(set)
    for n, path in pruned:
        if endpoint(n) and (endpoint(n), path) not in needed and path.startswith(("$.", "$[")):
            paths[endpoint(n)].add(path)
    fields = [
        {"name": _name(ep, path), "endpoint": ep, "path": path, "match": "ignore"}
        for ep in sorted(paths)
        for path in sorted(paths[ep])
    ]
    # A header rule names a header everywhere: written only for a header no interaction needed.
    unread = {p for _, p in pruned if p.startswith(HEADER)} - {p for _, p in kept if p.startswith(HEADER)}
    headers = [
        {"name": _name("header", p.removeprefix(HEADER)), "side": "response", "headers": [p.removeprefix(HEADER)],
         "action": "drop"}
        for p in sorted(unread)
    ]  # fmt: skip
    header = (
        "# Written by `pact-recorder prune`: response fields and headers the consumer's tests do not use (a whole\n"
        "# body left out has no rule: a rule cannot leave out every field of one endpoint's answer only).\n"
    )
    found = {"fields": fields} | ({"headers": headers} if headers else {})
    return header + yaml.safe_dump(found, sort_keys=False, allow_unicode=True)


def _name(endpoint: str, path: str) -> str:
    return "prune-" + re.sub(r"[^a-z0-9]+", "-", f"{endpoint} {path}".lower()).strip("-")
