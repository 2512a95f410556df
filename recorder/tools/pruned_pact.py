"""A pact without the response fields its consumer's tests do not use, and the rule that says so.

Each pruned field leaves the example, its matchers and generators (its own and those below it), and its
evidence says why: `left out: not used by the consumer's tests (N runs)`. The rule file holds one
`fields` rule (`match: ignore`) per endpoint and path, so a later `infer --rules` makes the same choice;
a path another interaction of the same endpoint still needs gets no rule (a rule cannot tell them apart).

    doc = without(doc, [(1, "$.email")], runs=9)   # GET /users/{id} returns 200 loses $.email
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

import yaml

from recorder.tools.replay import http_interactions, withhold

PRUNED_BY = "left out: not used by the consumer's tests ({runs} runs)"


def _below(path: str, key: str) -> bool:
    return key == path or key.startswith((f"{path}.", f"{path}[", f"{path}['"))


def without(doc: dict, pruned: list[tuple[int, str]], runs: int) -> dict:
    """A copy of the pact with the pruned fields (index into its HTTP interactions, JSONPath) left out."""
    doc = copy.deepcopy(doc)
    interactions = http_interactions(doc)
    for n, path in pruned:
        response = interactions[n]["response"]
        body = response.get("body")
        withhold(body["content"] if isinstance(body, dict) and "contentType" in body else body, path)
        for kind in ("matchingRules", "generators"):
            section = (response.get(kind) or {}).get("body")
            for key in [k for k in section or {} if _below(path, k)]:
                del section[key]
        evidence = (interactions[n].get("comments") or {}).get("pactRecorder", {}).get("evidence")
        if evidence is not None:
            body_evidence = evidence.setdefault("response.body", {})
            for key in [k for k in body_evidence if _below(path, k)]:
                del body_evidence[key]
            body_evidence[path] = {"by": PRUNED_BY.format(runs=runs), "pruned": True}
    return doc


def rules(doc: dict, pruned: list[tuple[int, str]], kept: list[tuple[int, str]]) -> str:
    """The `fields` rules that reproduce the pruning when the pact is inferred again."""
    interactions = http_interactions(doc)

    def endpoint(n: int) -> str | None:
        return (interactions[n].get("comments") or {}).get("pactRecorder", {}).get("endpoint")

    needed = {(endpoint(n), path) for n, path in kept}
    paths: dict[str, set[str]] = defaultdict(set)
    for n, path in pruned:
        if endpoint(n) and (endpoint(n), path) not in needed:
            paths[endpoint(n)].add(path)
    fields = [
        {"name": _name(ep, path), "endpoint": ep, "path": path, "match": "ignore"}
        for ep in sorted(paths)
        for path in sorted(paths[ep])
    ]
    header = "# Written by `pact-recorder prune`: response fields the consumer's tests do not use.\n"
    return header + yaml.safe_dump({"fields": fields}, sort_keys=False, allow_unicode=True)


def _name(endpoint: str, path: str) -> str:
    return "prune-" + re.sub(r"[^a-z0-9]+", "-", f"{endpoint} {path}".lower()).strip("-")
