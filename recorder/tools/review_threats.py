"""What threatens a pact's verification, said once per kind: each kind of threat with how many interactions it
touches, a few of them as examples and the one command or rule that fixes it.

A threat is raised only where verification fails, or passes while checking nothing, with what the pact and its
states file know: two requests are the same only when nothing the verifier sends tells them apart (headers,
body, the secrets it fills in), and a secret is asked for only when `verify --states-from-recording` would ask
for it. What merely might fail on another run (a header or a moment pinned to what one run saw) is said last.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from recorder.files import body_content
from recorder.infer.render import UNREAD_BODY, XML_CONTENT_TYPE_ONLY
from recorder.secrets.fill import Secrets, made_by_recording, option
from recorder.values import refusal_said
from recorder.verify.recorded_states import RecordedStates
from recorder.verify.run import needed_secrets

EXAMPLES = 3  # interactions named per kind of threat


@dataclass(frozen=True)
class Kind:
    severity: str  # "fails": verification fails; "hollow": it passes, checking nothing; "may fail": another run
    title: str  # the kind said once (what each threat is about, a header's name or a secret's, is listed beside)


KINDS = {
    "ambiguous": Kind("fails", "the same request in the same provider states, recorded with other outcomes"),
    "no-state": Kind("fails", "a resource named in the path, with no provider state that makes it"),
    "secret": Kind("fails", "secrets the recording redacted, which verify asks for"),
    "unread-body": Kind("hollow", "a response body recorded but not checked: its format is not inferred"),
    "empty-body": Kind("hollow", "a response body of which the contract checks no field"),
    "any-request": Kind("hollow", "a query parameter matched by ^.*$: the interaction stands for any request"),
    "refusal": Kind("hollow", "answered 2xx with a refusal in its body: the contract passes a provider that refuses"),
    "pinned-header": Kind("may fail", "response headers pinned to a value with digits"),
    "moment": Kind("may fail", "a moment pinned in the query: the verifier sends that time again"),
}
SEVERITIES = ("fails", "hollow", "may fail")


def threat(kind: str, flag: str, rule: str, group: str = "") -> dict[str, str]:
    """One interaction's threat: its kind, what it is here, the rule or command that fixes it, and what it is
    about where a kind has several subjects (a header's name, a query parameter's)."""
    return {"kind": kind, "flag": flag, "rule": rule, "group": group}


def folded(interactions: list[dict]) -> list[dict[str, Any]]:
    """Each kind of threat once, worst first: what it is about, how many interactions, a few of them, the fix."""
    found: dict[str, dict[str, Any]] = {}
    for inter in interactions:
        for t in inter["threats"]:
            entry = found.setdefault(t["kind"], {"fixes": [], "about": {}, "interactions": []})
            entry["fixes"].append(t["rule"])
            if t["group"]:
                entry["about"][t["group"]] = entry["about"].get(t["group"], 0) + 1
            if inter["description"] not in entry["interactions"]:
                entry["interactions"].append(inter["description"])
    return [
        class_entry(kind, found[kind]["interactions"], _fix(kind, found[kind]), found[kind]["about"])
        for kind in sorted(found, key=lambda k: (SEVERITIES.index(KINDS[k].severity), list(KINDS).index(k)))
    ]


def class_entry(kind: str, interactions: list[str], fix: str, about: dict[str, int]) -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": KINDS[kind].severity,
        "title": KINDS[kind].title,
        "about": [f"{name} ({n})" for name, n in sorted(about.items(), key=lambda it: (-it[1], it[0]))],
        "count": len(interactions),
        "examples": interactions[:EXAMPLES],
        "fix": fix,
    }


def _fix(kind: str, entry: dict) -> str:
    """One fix for the whole kind: a rule over every header it names; else the first interaction's."""
    if kind == "pinned-header":
        names = ", ".join(sorted({name.lower() for name in entry["about"]}))
        return f"headers: [{{name: varying-headers, side: response, headers: [{names}], action: regex, regex: '^.+$'}}]"
    return entry["fixes"][0]


# -- per interaction ---------------------------------------------------------------------------------------


def request_identity(inter: dict, secrets: list[dict]) -> str:
    """Everything the verifier sends for an interaction and the states it is sent in: two interactions with the
    same identity cannot be told apart by the provider."""
    request = inter.get("request") or {}
    states = [(s.get("name"), s.get("params") or {}) for s in inter.get("providerStates") or []]
    sent = (
        request.get("method"),
        request.get("path"),
        request.get("query"),
        request.get("headers"),
        request.get("body"),
        sorted(json.dumps(e, sort_keys=True) for e in secrets),
        states or inter.get("providerState"),
    )
    return json.dumps(sent, sort_keys=True, default=str)


def ambiguous(raw: list[dict], model: list[dict], secrets: dict[str, list[dict]]) -> None:
    """Interactions whose requests and states are the same, yet whose outcomes differ: only one can pass."""
    groups: dict[str, list[dict]] = {}
    for doc, inter in zip(raw, model, strict=True):
        if isinstance(doc.get("request"), dict):
            groups.setdefault(request_identity(doc, secrets.get(inter["description"], [])), []).append(inter)
    for same in groups.values():
        if len({i["status"] for i in same}) < 2:
            continue
        for inter in same:
            others = ", ".join(repr(i["description"]) for i in same if i is not inter)
            inter["threats"].insert(
                0,
                threat(
                    "ambiguous",
                    f"recorded with another outcome too ({others}): nothing the verifier sends tells them apart",
                    f'states: [{{name: {slug(inter["description"])}, endpoint: "{inter["endpoint"]}", '
                    f'status: {inter["status"]}, state: "..."}}]   # a state of its own',
                ),
            )


def hollow(inter: dict, request: dict, response: dict, notes: list[str], evidence: dict) -> None:
    """An interaction whose contract checks almost nothing, with what would make it real."""
    status = response.get("status")
    ok = isinstance(status, int) and 200 <= status < 300
    body = body_content(response.get("body"))
    if any(UNREAD_BODY in n or XML_CONTENT_TYPE_ONLY in n for n in notes if n.startswith("response body")):
        inter["threats"].append(
            threat(
                "unread-body",
                "the response body is recorded but not checked",
                "a format rule for its media type, or a JSON/XML/text answer (see docs/rules.md)",
            )
        )
    elif ok and isinstance(body, (dict, list)) and not body and not (response.get("matchingRules") or {}).get("body"):
        facts = evidence.get("response.body", {})
        if not any(f.get("pruned") for f in facts.values()):  # pruned: the consumer reads none of it
            inter["threats"].append(
                threat(
                    "empty-body",
                    f"the response body's contract is {json.dumps(body)}",
                    "record more exchanges of it, or a rule for the fields left out (see review's field flags)",
                )
            )
    if ok and (said := refusal_said(body)) is not None:
        inter["threats"].append(
            threat(
                "refusal",
                f"answered {status} with {short(said, 60)}: what it needed was not there",
                "record it after what it needs exists, or give it a provider state of its own",
            )
        )
    rules = request.get("matchingRules") or {}
    for where, name in _anything(rules):
        inter["threats"].append(
            threat(
                "any-request",
                f"request {where} {name} matched by ^.*$",
                f"name {name} an operation (rules: operations, params) or give its values a format (docs/rules.md)",
                f"{where} {name}",
            )
        )


def _anything(rules: dict) -> list[tuple[str, str]]:
    """("query", name) of each query parameter matched by a regex that takes anything: where an API names the
    operation (`?q=CREATE DATABASE ...`, `?action=...`), one interaction then stands for every operation. (A
    body field matched so is data: the verifier sends its example.)"""
    out = []
    for name, rule in sorted((rules.get("query") or {}).items()):
        matchers = rule.get("matchers", []) if isinstance(rule, dict) else rule if isinstance(rule, list) else []
        if any(m.get("match") == "regex" and m.get("regex") in ("^.*$", ".*", "^[\\s\\S]*$") for m in matchers):
            out.append(("query", name))
    return out


def short(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slug(text: str) -> str:
    """A rule name from an endpoint and a path: `get-users-id-status`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- over the whole pact ------------------------------------------------------------------------------------


def secrets_verify_asks(doc: dict, states: dict | None) -> dict[str, list[str]]:
    """The secrets `verify --states-from-recording` would ask for with nothing given, each with where it is
    needed. A pact with no states file asks for every secret its requests were redacted of."""
    recorded = RecordedStates.from_doc(states or {})
    return needed_secrets(doc, recorded, Secrets(made=made_by_recording(recorded.in_order)))[0]


def secret_class(needed: dict[str, list[str]], entries: dict[str, list[dict]]) -> list[dict[str, Any]]:
    """The secrets verify asks for as one kind of threat (as `folded` gives them): each secret with where it
    goes, the interactions that send one, one command that gives them all."""
    if not needed:
        return []
    sending = [d for d, found in entries.items() if any(e.get("secret") in needed for e in found)]
    about = {}
    for name in needed:
        found = [e for es in entries.values() for e in es if e.get("secret") == name]
        places = sorted({f"{e.get('in')} {e.get('key')}" for e in found})
        senders = sum(1 for es in entries.values() if any(e.get("secret") == name for e in es))
        about[f"{name} in {', '.join(places) or 'setups'}"] = senders
    secrets = " ".join(option({"secret": name}) for name in sorted(needed))
    fix = f"pact-recorder verify PACT --provider-url URL --states-from-recording {secrets}"
    return [class_entry("secret", sending or sorted({w for ws in needed.values() for w in ws}), fix, about)]
