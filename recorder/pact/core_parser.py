"""Ask the Pact core's own parser whether it accepts a pact document.

pact-python-ffi wraps `parse_pact_json` as NotImplementedError, so the raw cffi symbol is called.
The core silently drops rule groups that are not objects with `matchers`, so the number of matchers
it kept is compared with the number we wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class CoreView:
    spec: str  # "V3", "V4", ...
    interactions: int
    matchers: int


def parse(text: str) -> CoreView:
    """What the core made of a pact; ValueError with the core's message when it rejects it."""
    from pact_ffi.ffi import ffi, lib

    json.loads(text)  # the core returns NULL without a message for non-JSON
    pact = lib.pactffi_parse_pact_json(text.encode())
    if pact == ffi.NULL:
        buf = ffi.new("char[]", 4096)
        lib.pactffi_get_error_message(buf, 4096)
        raise ValueError(f"the Pact core rejected the file: {ffi.string(buf).decode() or 'no reason given'}")
    specs = {lib.PactSpecification_V3: "V3", lib.PactSpecification_V4: "V4"}
    try:
        spec = specs.get(lib.pactffi_pact_spec_version(pact), "other")
        count = matchers = 0
        it = lib.pactffi_pact_model_interaction_iterator(pact)
        while (inter := lib.pactffi_pact_interaction_iter_next(it)) != ffi.NULL:
            count += 1
            http = lib.pactffi_pact_interaction_as_synchronous_http(inter)
            if http != ffi.NULL:
                matchers += _count_matchers(ffi, lib, http)
            # Deleting `inter` after the cast aborts the process; the model owns it.
        lib.pactffi_pact_interaction_iter_delete(it)
    finally:
        lib.pactffi_pact_model_delete(pact)
    return CoreView(spec, count, matchers)


def _count_matchers(ffi, lib, http) -> int:
    req, resp = lib.pactffi_sync_http_get_request(http), lib.pactffi_sync_http_get_response(http)
    total = 0
    for cat in (
        lib.MatchingRuleCategory_PATH,
        lib.MatchingRuleCategory_QUERY,
        lib.MatchingRuleCategory_HEADER,
        lib.MatchingRuleCategory_BODY,
        lib.MatchingRuleCategory_STATUS,
    ):
        for part, getter in (
            (req, lib.pactffi_request_contents_get_matching_rule_iter),
            (resp, lib.pactffi_response_contents_get_matching_rule_iter),
        ):
            it = getter(part, cat)
            if it == ffi.NULL:
                continue
            while (pair := lib.pactffi_matching_rules_iter_next(it)) != ffi.NULL:
                total += 1
                lib.pactffi_matching_rules_iter_pair_delete(pair)
            lib.pactffi_matching_rules_iter_delete(it)
    return total


def declared_matchers(document: dict) -> int:
    """How many matchers a document we built declares (what the core should keep)."""
    total = 0
    for inter in document.get("interactions", []):
        for part in ("request", "response"):
            for cat, groups in (inter.get(part, {}).get("matchingRules") or {}).items():
                groups = [groups] if cat == "path" else groups.values()
                total += sum(len(g["matchers"]) for g in groups)
    return total


def check(document: dict, text: str) -> CoreView:
    """Raise ValueError unless the core accepts `text` and keeps every matcher of `document`."""
    view = parse(text)
    if view.matchers != (declared := declared_matchers(document)):
        raise ValueError(f"the Pact core kept {view.matchers} of the {declared} matchers written")
    return view


def offending_interactions(document: dict) -> list[str]:
    """The descriptions of the interactions the core rejects on their own (for a bug report)."""
    out = []
    for inter in document.get("interactions", []):
        alone = {**document, "interactions": [inter]}
        try:
            check(alone, json.dumps(alone))
        except ValueError:
            out.append(inter.get("description", "?"))
    return out
