"""`pact-recorder review PACT`: what was inferred and why, with what a reviewer should look at.

The review is built as plain data first (that is `--format json`), then rendered for a terminal (rich),
a pull request (Markdown) or a browser (one self-contained HTML page). Each flagged field comes with the
one-line rule that would change the choice; `--decisions FILE --write-rules OUT` turns a reviewer's
accept/override per field into a rule file that `infer --rules OUT` applies.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import yaml

from recorder.files import body_content
from recorder.pact.document import carried_evidence
from recorder.pact.source import PactSource
from recorder.secrets import fill
from recorder.secrets.redact import PLACEHOLDER
from recorder.tools import review_threats
from recorder.tools.review_threats import short, slug
from recorder.verify.recorded_states import RecordedStates
from recorder.verify.run import secret_entries

CONSTANT_MIN_SAMPLES = 5
ENUM_MIN_SAMPLES = 10
ENUM_MAX_DISTINCT = 3
MAP_MIN_KEYS = 10  # more sibling fields flagged alike than this: the object is a map keyed by data

# A value that reads as a date or a time: pinned in a query, it is a moment the verifier sends again.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?$|^\d{10}(\d{3})?$")


def load_review(pact_path: Path) -> dict[str, Any]:
    """The review model of a pact (V4 evidence in comments; V3 evidence in its metadata). Pacts
    from other tools review too: V2 (`providerState`), messages and other interactions without a
    request, no evidence at all."""
    source = PactSource.read(pact_path)
    pact = source.doc
    v3 = carried_evidence(pact)
    meta = pact.get("metadata", {}).get("pactRecorder", {})
    needed = review_threats.secrets_verify_asks(pact, source.states)
    interactions = [_interaction(i, v3.get(i.get("description")), needed) for i in pact["interactions"]]
    entries = secret_entries(pact)
    review_threats.ambiguous(pact["interactions"], interactions, entries)
    classes = review_threats.folded(interactions) + review_threats.secret_class(needed, entries)
    classes.sort(key=lambda c: review_threats.SEVERITIES.index(c["severity"]))  # stable: kinds keep their order
    model = {
        "pact": pact_path.name,
        "consumer": pact.get("consumer", {}).get("name"),
        "provider": pact.get("provider", {}).get("name"),
        "diagnostics": meta.get("diagnostics", {}),
        "threat_classes": classes,
        "interactions": interactions,
    }
    model["summary"] = _overview(model, source.states)
    return model


def _between(states: dict | None) -> str | None:
    """How verify leaves the provider between interactions, as the states file lets it."""
    if states is None:
        return None
    recorded = RecordedStates.from_doc(states)  # its steps by number, however the file spelled them
    if recorded.reset is not None and (reset := recorded.steps.get(int(recorded.reset))) is not None:
        return f"the recording's own reset request ({reset.get('method')} {reset.get('path')}) empties the provider"
    return (
        "verify deletes what each setup made; give --reset-url or --reset-command if the provider can be "
        "emptied or started afresh"
    )


def _interaction(inter: dict, sidecar: dict | None, needed: dict[str, list[str]]) -> dict[str, Any]:
    """One interaction's review; `needed` names the secrets verify asks for (the others it makes up or the
    states set: their redacted values are no flag)."""
    comments = inter.get("comments") or {}
    prov = comments.get("pactRecorder") or sidecar or {}
    states = [s.get("name") for s in inter.get("providerStates") or []]
    if not states and inter.get("providerState"):  # V2
        states = [inter["providerState"]]
    request = inter.get("request") if isinstance(inter.get("request"), dict) else None
    endpoint = prov.get("endpoint") or (
        f"{request.get('method')} {request.get('path')}" if request else inter.get("type") or "message"
    )
    out = {
        "description": inter.get("description"),
        "states": states,
        "endpoint": endpoint,
        "operation": prov.get("operation"),
        "request": _request_line(request),
        "status": (inter.get("response") or {}).get("status") if request else None,
        "state": ", ".join(states) if states else None,
        "exchanges": prov.get("exchanges"),
        "distinct": prov.get("distinct"),
        "pending": bool(inter.get("pending")),
        "generated": bool(prov.get("generatedBy")),
        "notes": [t for t in comments.get("text", [])[1:] if not t.startswith(_SEVERAL_OUTCOMES)]
        + list((sidecar or {}).get("notes", [])),
        "threats": [],
        "fields": [],
    }
    evidence = prov.get("evidence") or {}
    # Where verify asks for a redacted value (None: a pact that does not say where its values were redacted).
    found = prov.get("secrets") or []
    secrets = {fill.where(s): s for s in found if s.get("secret") in needed} if found else None
    for side in ("request", "response") if request else ():
        message = inter.get(side) or {}
        rules = message.get("matchingRules") or {}
        if side == "request":
            out["fields"] += _path_and_query(out, message, rules, evidence.get("query", {}))
        out["fields"] += _headers(out, side, message, rules.get("header", {}), evidence, secrets)
        example = body_content(message.get("body"))
        facts = evidence.get(f"{side}.body", {})
        body_rules = rules.get("body", {})
        for path, fact in facts.items():
            if "unnamed keys left out" in fact:
                continue
            out["fields"].append(_field(out, f"{side}.body", path, fact, body_rules.get(path), example, secrets))
        for path in sorted(body_rules.keys() - facts.keys()):  # a hand-written pact: rules, no evidence
            out["fields"].append(
                _row(f"{side}.body", path, _matcher(body_rules[path]), _resolve(example, path), {}, [])
            )
        out["fields"] += _pinned(out, side, example, facts, body_rules)
    _collapse_maps(out)
    _flag_missing_state(out, request)
    if request is not None:
        review_threats.hollow(out, request, inter.get("response") or {}, out["notes"], evidence)
    return out


def _request_line(request: dict | None) -> str | None:
    if request is None:
        return None
    query = request.get("query") or {}
    if isinstance(query, dict):
        query = "&".join(f"{k}={v}" for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs]))
    return f"{request.get('method')} {request.get('path')}" + (f"?{query}" if query else "")


def _flag(text: str, rule: str) -> dict[str, str]:
    return {"flag": text, "rule": rule}


def _field_rule(inter: dict, side: str, path: str, match: str) -> str:
    endpoint = inter["endpoint"]
    name = slug(f"{endpoint} {path}")
    side_part = ", side: request" if side == "request" else ""
    return f'fields: [{{name: {name}, endpoint: "{endpoint}"{side_part}, path: "{path}", match: {match}}}]'


def _asked(secrets: dict | None, where: str) -> bool:
    """Does verify ask for the secret redacted there? (A pact that does not say: assume so.)"""
    return secrets is None or where in secrets


def _verify_option(secret: dict | None, header: str | None = None) -> str:
    option = fill.option(secret) if secret else f"--header '{header}: VALUE'" if header else "--secret NAME=VALUE"
    return f"pact-recorder verify PACT {option}"


def _matcher(rule: Any) -> str:
    """A rule as a reviewer reads it: `type min 1`, `type OR null`, `regex ^...$`."""
    if isinstance(rule, list):  # V3 path/header rules may be a bare list
        rule = {"matchers": rule}
    matchers = (rule or {}).get("matchers", []) if isinstance(rule, dict) else []
    parts = []
    for m in matchers:
        text = m.get("match", "?")
        text += "".join(f" {k} {m[k]}" for k in ("min", "max") if k in m)
        parts.append(text)
    return f" {(rule or {}).get('combine') or 'AND'} ".join(parts)


def _row(where: str, path: str, matcher: str, example: Any, evidence: dict, flags: list) -> dict[str, Any]:
    return {"where": where, "path": path, "matcher": matcher, "example": example, "evidence": evidence, "flags": flags}


def _path_and_query(inter: dict, request: dict, rules: dict, facts: dict) -> list[dict]:
    """The request path (when a matcher frees it) and every query parameter, with what pins them."""
    out = []
    if path_rule := rules.get("path"):
        out.append(_row("request.path", "path", _matcher(path_rule), request.get("path"), {}, []))
    query = request.get("query") or {}
    if isinstance(query, str):  # V2: one string
        query = {k: [v] for k, _, v in (p.partition("=") for p in query.split("&") if p)}
    for name, values in query.items():
        value = values[0] if isinstance(values, list) and values else values
        matcher = _matcher(rules.get("query", {}).get(name)) or "equality"
        flags = []
        if matcher == "equality" and isinstance(value, str) and _TIMESTAMP.match(value):
            flags.append(
                _flag(
                    f"a moment pinned in the query ({value}): the verifier sends this exact time again",
                    "# seen once, so kept exact: record it at two different times (formats then free it)",
                )
            )
            inter["threats"].append(review_threats.threat("moment", flags[-1]["flag"], flags[-1]["rule"], name))
        out.append(_row("request.query", name, matcher, value, facts.get(name, {}), flags))
    return out


def _headers(inter: dict, side: str, message: dict, rules: dict, evidence: dict, secrets: dict | None) -> list[dict]:
    out = []
    facts = evidence.get(f"{side}.headers", {})
    for name, values in (message.get("headers") or {}).items():
        value = ", ".join(map(str, values)) if isinstance(values, list) else values
        matcher = _matcher(rules.get(name)) or "equality"
        flags = []
        if (
            side == "request"
            and "redacted" in facts.get(name, {}).get("by", "") + value
            and _asked(secrets, f"header {name}")
        ):
            flags.append(
                _flag(
                    f"redacted request header {name}: the verifier sends a placeholder unless given the real value",
                    _verify_option((secrets or {}).get(f"header {name}"), name),
                )
            )
            if secrets is None:  # a pact that does not say which secret it was: this header is the secret
                inter["threats"].append(review_threats.threat("secret", flags[-1]["flag"], flags[-1]["rule"], name))
        elif side == "response" and matcher == "equality" and re.search(r"\d", value):
            # A constant with digits in it (a date, a count, an id, a version) is often constant only
            # because the recording was short: pinned, another provider run answers another one.
            low = name.lower()
            rule = f"headers: [{{name: {low}-any, side: response, headers: [{low}], action: regex, regex: '^.+$'}}]"
            flags.append(
                _flag(f"response header {name} pinned to {value!r}: the provider must send exactly this", rule)
            )
            inter["threats"].append(review_threats.threat("pinned-header", flags[-1]["flag"], rule, name))
        out.append(_row(f"{side}.headers", name, matcher, value, facts.get(name, {}), flags))
    return out


def _field(inter: dict, where: str, path: str, fact: dict, rule: dict | None, body: Any, secrets: dict | None) -> dict:
    side = where.split(".")[0]
    by = fact.get("by", "")
    field = _row(
        where,
        path,
        _matcher(rule) or ("pruned" if fact.get("pruned") else "left out" if "left out" in by else "equality"),
        _resolve(body, path),
        fact,
        [],
    )
    flags = field["flags"]
    samples, distinct = fact.get("samples", 0), fact.get("distinct")
    formatted = by.startswith("format ")  # a uuid, an email, a date-time: its shape is the contract

    if "redacted" in by or field["example"] == PLACEHOLDER:
        if side == "request" and not _asked(secrets, f"the JSON body's {path}"):
            pass  # verify makes one up, or the states set it: nothing to give
        elif side == "request":
            flags.append(
                _flag(
                    f"redacted request value (body {path}): the verifier sends a placeholder unless given the real one",
                    _verify_option((secrets or {}).get(f"the JSON body's {path}")),
                )
            )
            if secrets is None:
                inter["threats"].append(review_threats.threat("secret", flags[-1]["flag"], flags[-1]["rule"], path))
        else:
            key = re.split(r"[.\[\]']", path)[-2 if path.endswith("]") else -1] or path
            flags.append(_flag("redacted secret", f"secrets: {{allow: [{key}]}}   # only if it is not a secret"))
    elif by.startswith("rule "):
        pass  # a reviewer's rule chose this: nothing to flag
    elif fact.get("optional"):
        flags.append(
            _flag(
                f"optional: present in {fact.get('present')} of {fact.get('of')}, left out "
                "(the core fails on a missing key)",
                _field_rule(inter, side, path, "ignore") + "   # accept leaving it out",
            )
        )
    elif fact.get("pruned"):
        pass  # the consumer's tests showed it is not needed (prune)
    elif "left out" in by:
        flags.append(_flag(by, _field_rule(inter, side, path, "ignore") + "   # accept leaving it out"))
    elif fact.get("null"):
        flags.append(
            _flag(
                f"nullable: null {fact['null']} of {samples}",
                _field_rule(inter, side, path, "ignore") + "   # if null is an error",
            )
        )
    elif samples == 1:
        pass  # one sample says little, but it is a note on the evidence (its samples), not a flag
    elif formatted:
        pass  # never an enum, and a constant one is what one recorded exchange gives
    elif (
        isinstance(distinct, int)
        and distinct == 1
        and samples >= CONSTANT_MIN_SAMPLES
        and field["matcher"] != "equality"
    ):
        flags.append(
            _flag(
                f"constant across {samples} samples but matched by {field['matcher']}",
                _field_rule(inter, side, path, "equality"),
            )
        )
    elif isinstance(distinct, int) and 2 <= distinct <= ENUM_MAX_DISTINCT and samples >= ENUM_MIN_SAMPLES:
        flags.append(
            _flag(f"{distinct} distinct values in {samples} samples: an enum?", _field_rule(inter, side, path, "enum"))
        )
    return field


def _pinned(inter: dict, side: str, body: Any, facts: dict, rules: dict) -> list[dict]:
    """Response fields the contract pins to their example value with no evidence to show it: no rule
    for them or any container above them (a `null` inside an array, say)."""
    if side != "response" or not isinstance(body, (dict, list)):
        return []
    out = []
    for path, value in _leaves(body):
        if path in facts or any(p in rules or p in facts for p in _ancestors(path)) or path in rules:
            continue
        flag = _flag(
            f"pinned to the literal {json.dumps(value)}: the provider must send exactly this",
            _field_rule(inter, side, path, "type"),
        )
        out.append(_row(f"{side}.body", path, "equality", value, {}, [flag]))
    return out


def _leaves(value: Any, path: str = "$") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, _child(path, k))]
    if isinstance(value, list):
        return [leaf for v in value[:1] for leaf in _leaves(v, f"{path}[*]")]
    return [(path, value)]


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}['{key}']"


def _ancestors(path: str) -> list[str]:
    parts = re.findall(r"\.[^.\[\]]+|\['[^']*'\]|\[[^\]]*\]", path[1:])
    return ["$" + "".join(parts[:n]) for n in range(len(parts))]


def _collapse_maps(inter: dict) -> None:
    """Many fields flagged alike below one object that holds more than MAP_MIN_KEYS of them, directly or
    deeper (`$.result.USER.username`, one per user), are one flag on that object: a map keyed by data
    (metric names, user names, ids) is not a hundred fields to review. The outermost such object takes them."""
    flagged = [f for f in inter["fields"] if f["flags"] and f["where"].endswith(".body")]
    children: dict[tuple, set[str]] = {}

    def kind(f: dict) -> str:
        return re.sub(r"[\d.]+|'[^']*'", "", f["flags"][0]["flag"])  # "constant across", "optional: ..."

    for f in flagged:
        chain = [*_ancestors(f["path"]), f["path"]] if f["path"] != "$" else ["$"]
        for parent, child in zip(chain, chain[1:], strict=False):
            children.setdefault((f["where"], parent, kind(f)), set()).add(child)
    groups: dict[tuple, list[dict]] = {}
    for f in flagged:
        where, k = f["where"], kind(f)
        parent = next((a for a in _ancestors(f["path"]) if len(children.get((where, a, k), ())) > MAP_MIN_KEYS), None)
        if parent is not None:
            groups.setdefault((where, parent, k), []).append(f)
    for (where, parent, _), members in groups.items():
        for f in members:
            f["flags"] = []
        flag = _flag(
            f"{len(members)} fields below it flagged alike: a map keyed by data? each key is a field of the contract",
            _field_rule(inter, where.split(".")[0], parent, "type") + "   # its values by type, whatever they are",
        )
        inter["fields"].append(_row(where, parent, "-", None, {}, [flag]))


def _flag_missing_state(inter: dict, request: dict | None) -> None:
    """An interaction on a resource named in its path (`/users/{id}`), answered with success, and no
    provider state: the verifier's provider has no reason to have that resource."""
    status = inter["status"]
    if request is None or inter["state"] or not isinstance(status, int) or status >= 300:
        return
    if "{" not in inter["endpoint"] and "path" not in (request.get("matchingRules") or {}):  # a fixed path
        return
    endpoint = inter["endpoint"]
    name = slug(endpoint)
    inter["threats"].append(
        review_threats.threat(
            "no-state",
            "no provider state: the resource its path names must exist when it is verified",
            f'states: [{{name: {name}, endpoint: "{endpoint}", status: {status}, state: "... exists"}}]',
        )
    )


_SEVERAL_OUTCOMES = "the same request in the same provider states was recorded with another outcome"


def _resolve(body: Any, path: str) -> Any:
    """The example value at one of our JSONPaths ($.a['b c'][*].d; [*] takes the first element)."""
    value = body
    for dotted, quoted, index in re.findall(r"\.([^.\[\]]+)|\['([^']*)'\]|\[(\*|\d+)\]", path[1:]):
        if index:
            position = 0 if index == "*" else int(index)
            value = value[position] if isinstance(value, list) and len(value) > position else None
        elif isinstance(value, dict):
            value = value.get(dotted or quoted)
        else:
            return None
    return value


# -- renderings -------------------------------------------------------------------------------------


def flagged(model: dict) -> int:
    return sum(1 for i in model["interactions"] for f in i["fields"] if f["flags"])


def threats(model: dict) -> list[dict[str, Any]]:
    """What threatens verification, each kind once, worst first (see recorder.tools.review_threats)."""
    return model["threat_classes"]


RESOURCES_SHOWN = 12  # the summary names this many resources and states, the busiest first
STATES_SHOWN = 10


def _overview(model: dict, recorded: dict | None) -> dict[str, Any]:
    """The first screen as data: what the pact holds, by resource and by state, what the self-check
    loosened, how to verify it (`recorded`: the recording's states file, None for a pact from elsewhere), and the
    threats counted by severity."""
    inters = model["interactions"]
    resources: dict[str, list[int]] = {}
    states: dict[str, int] = {}
    for inter in inters:
        counts = resources.setdefault(resource(inter), [0, 0])
        counts[0] += 1
        counts[1] += bool(inter["threats"] or any(f["flags"] for f in inter["fields"]))
        for name in inter["states"]:
            states[name] = states.get(name, 0) + 1
    secret = next((c for c in model["threat_classes"] if c["kind"] == "secret"), None)
    verify = "pact-recorder verify PACT --provider-url URL" + (
        " --states-from-recording" if recorded is not None else ""
    )
    severities = [c["severity"] for c in model["threat_classes"]]
    return {
        "interactions": len(inters),
        "exchanges": sum(i["exchanges"] or 0 for i in inters),
        "resources": [[r, n, f] for r, (n, f) in sorted(resources.items(), key=lambda it: (-it[1][0], it[0]))],
        "states": [[name, n] for name, n in sorted(states.items(), key=lambda it: (-it[1], it[0]))],
        "loosened": model["diagnostics"].get("loosenedBySelfCheck", 0),
        "verify": secret["fix"] if secret else verify,
        "between": _between(recorded),
        "threats": {s: severities.count(s) for s in review_threats.SEVERITIES},
        "flagged": flagged(model),
    }


def resource(inter: dict) -> str:
    """What an interaction is about: the path its endpoint names (`/stores/{store}`), and the operation
    its requests name inside them where they do (`/graphql query Post`)."""
    path = inter["endpoint"].partition(" ")[2] or inter["endpoint"]
    return f"{path} {inter['operation']}" if inter.get("operation") else path


def account(model: dict) -> str | None:
    """The run's account: exchanges seen, recorded, skipped and redacted."""
    if not (d := model["diagnostics"]):
        return None
    return (
        f"Recording: {d.get('seen')} exchange(s) seen, {d.get('recorded')} recorded"
        + "".join(f"; skipped {n}: {r}" for r, n in d.get("skipped", {}).items())
        + "".join(f"; redacted {n}: {w}" for w, n in d.get("redacted", {}).items())
    )


def summary_lines(model: dict) -> list[str]:
    """The summary as lines of plain text (the terminal's panel, the page's and Markdown's first block)."""
    s = model["summary"]
    lines = [
        f"{model['consumer']} -> {model['provider']}: {s['interactions']} interaction(s)"
        + (f" from {s['exchanges']} exchange(s)" if s["exchanges"] else "")
        + f", over {len(s['resources'])} resource(s) and {len(s['states'])} provider state(s)"
    ]
    lines += [line] if (line := account(model)) else []
    if s["loosened"]:
        lines.append(
            f"Self-check: {s['loosened']} interaction(s) failed against their own recorded responses; what failed "
            "was left out (their notes say what)"
        )
    lines.append(f"Verify: {s['verify']}")
    if s["between"]:
        lines.append(f"Between interactions: {s['between']}")
    counts = ", ".join(f"{n} {sev}" for sev, n in s["threats"].items() if n) or "none the recording shows"
    lines.append(f"Threats to verification by kind: {counts}; {s['flagged']} field(s) flagged for a look")
    return lines


def _threat_lines(c: dict) -> list[str]:
    """A kind of threat as lines: what, how many, which, the fix."""
    which = ", ".join(repr(d) for d in c["examples"]) + (", ..." if c["count"] > len(c["examples"]) else "")
    lines = [f"[{c['severity']}] {c['title']}: {c['count']} interaction(s), e.g. {which}"]
    lines += [f"about: {'; '.join(c['about'])}"] if c["about"] else []
    return lines + [f"fix: {c['fix']}"]


def _listed(pairs: list[list], shown: int) -> list[str]:
    """`name (n)` for the busiest, then how many more."""
    out = [f"{name} ({n})" for name, n, *_ in pairs[:shown]]
    return out + ([f"and {len(pairs) - shown} more"] if len(pairs) > shown else [])


def heading(inter: dict) -> str:
    """`GET /users/1 -> 200, given user exists, backed by 2 exchange(s)` (what is known of it)."""
    parts = [f"{inter['request'] or inter['endpoint']}" + (f" -> {inter['status']}" if inter["status"] else "")]
    if inter["states"]:
        counted = {name: inter["states"].count(name) for name in inter["states"]}
        parts.append("given " + ", ".join(name + (f" (x{n})" if n > 1 else "") for name, n in counted.items()))
    if inter["exchanges"] is not None:
        distinct = f" ({inter['distinct']} distinct)" if inter.get("distinct") else ""
        parts.append(f"backed by {inter['exchanges']} exchange(s){distinct}")
    parts += [t for t, on in (("PENDING", inter["pending"]), ("hand-written", not inter["generated"])) if on]
    return ", ".join(parts)


def _label(f: dict) -> str:
    """`request query since`, `response header ETag`, `response $.id`."""
    side, _, part = f["where"].partition(".")
    kind = {"headers": "header ", "query": "query ", "path": ""}.get(part, "")
    return f"{side} {kind}{f['path']}"


def _evidence(fact: dict) -> str:
    parts = [f"{k} {v}" for k, v in fact.items() if k in ("samples", "distinct", "null")]
    return ", ".join([fact.get("by", ""), *parts]).strip(", ")


def cells(f: dict, limit: int = 40) -> list[str]:
    return [
        _label(f),
        f["matcher"],
        short(f["example"], limit),
        _evidence(f["evidence"]),
        "; ".join(x["flag"] for x in f["flags"]),
    ]


COLUMNS = ("field", "matcher", "example", "evidence", "flags")


def render_text(model: dict, width: int = 100) -> str:
    """The summary in a panel, the threats by kind, then every interaction: fields one per line, wrapped at
    words (no table cut mid-word), each flag with the rule that would change it."""
    from rich.console import Console, Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    def indented(text: str, by: int) -> Padding:
        return Padding(Text(text, overflow="fold"), (0, 0, 0, by), expand=False)

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(
        Panel(Group(*map(Text, summary_lines(model))), title=f"Review of {model['pact']}", title_align="left")
    )
    s = model["summary"]
    if found := threats(model):
        console.print("\nThreats to verification, worst first:")
        for c in found:
            first, *rest = _threat_lines(c)
            console.print(indented(first, 2), *(indented(line, 4) for line in rest))
    console.print("\nInteractions by resource: " + ", ".join(_listed(s["resources"], RESOURCES_SHOWN)), markup=False)
    if s["states"]:
        console.print("Provider states: " + ", ".join(_listed(s["states"], STATES_SHOWN)), markup=False)
    for inter in model["interactions"]:
        console.print()
        console.print(indented(f"{inter['description']}  [{heading(inter)}]", 0))
        for t in inter["threats"]:
            console.print(indented(f"! {t['flag']}", 2), indented(f"fix: {t['rule']}", 4))
        for note in inter["notes"]:
            console.print(indented(f"note: {note}", 2))
        for f in inter["fields"]:
            evidence = _evidence(f["evidence"])
            gone = f["matcher"] in ("pruned", "left out")  # no example: the contract holds none
            line = f"{_label(f)}: {f['matcher'] or 'equality'}" + ("" if gone else f", e.g. {short(f['example'])}")
            console.print(indented(line + (f" ({evidence})" if evidence else ""), 2))
            for x in f["flags"]:
                console.print(indented(f"! {x['flag']}", 4), indented(f"rule: {x['rule']}", 6))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def render_markdown(model: dict) -> str:
    """For a pull request: the summary and the threats up front, every interaction folded away."""
    s = model["summary"]
    out = [f"## Review of `{model['pact']}`", ""] + [f"- {line}" for line in summary_lines(model)] + [""]
    if found := threats(model):
        out += ["### Threats to verification", "", "| | threat | interactions | fix |", "|---|---|---|---|"]
        for c in found:
            which = ", ".join(f"`{d}`" for d in c["examples"]) + (", ..." if c["count"] > len(c["examples"]) else "")
            about = f" ({'; '.join(c['about'])})" if c["about"] else ""
            row = [c["severity"], c["title"] + about, f"{c['count']}: {which}", f"`{c['fix']}`"]
            out.append("| " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
        out.append("")
    out += [f"**Interactions by resource:** {', '.join(_listed(s['resources'], RESOURCES_SHOWN))}", ""]
    if s["states"]:
        out += [f"**Provider states:** {', '.join(_listed(s['states'], STATES_SHOWN))}", ""]
    out += [f"<details><summary>Every interaction ({s['interactions']})</summary>", ""]
    for inter in model["interactions"]:
        tags = " **PENDING**" if inter["pending"] else ""
        out += [f"### {inter['description']}{tags}", "", f"`{heading(inter)}`", ""]
        out += [f"> {note}" for note in inter["notes"]]
        out += [f"- :warning: {t['flag']}  \n  `{t['rule']}`" for t in inter["threats"]]
        if inter["fields"]:
            out += ["", "| " + " | ".join(COLUMNS) + " |", "|---|---|---|---|---|"]
            for f in inter["fields"]:
                row = cells(f)
                row[0], row[2] = f"`{row[0]}`", f"`{row[2]}`"
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
            rules = [(f, x) for f in inter["fields"] for x in f["flags"]]
            if rules:
                out += ["", "Rules that would change a flagged choice:", "```yaml"]
                out += [f"# {_label(f)}: {x['flag']}\n{x['rule']}" for f, x in rules]
                out += ["```"]
        out.append("")
    out += ["</details>", ""]
    return "\n".join(out)


def write_rules(model: dict, decisions: dict) -> str:
    """A rule file from a reviewer's decisions: {interaction description: {JSONPath: accept | equality |
    enum | ignore | type | integer | decimal | number | regex:^...$}}; `accept` keeps the inferred choice."""
    rules = []
    by_description = {i["description"]: i for i in model["interactions"]}
    problems = []
    for description, fields in (decisions or {}).items():
        inter = by_description.get(description)
        if inter is None:
            problems.append(f"no interaction {description!r} in {model['pact']}")
            continue
        for path, decision in (fields or {}).items():
            decision = str(decision)
            if decision == "accept":
                continue
            match, _, regex = decision.partition(":")
            if match not in ("equality", "enum", "ignore", "type", "integer", "decimal", "number", "regex"):
                problems.append(
                    f"{description} {path}: unknown decision {decision!r} (accept, equality, enum, "
                    "ignore, type, integer, decimal, number or regex:PATTERN)"
                )
                continue
            side = next((f["where"].split(".")[0] for f in inter["fields"] if f["path"] == path), "response")
            rule = {
                "name": slug(f"{inter['endpoint']} {path}"),
                "endpoint": inter["endpoint"],
                "side": side,
                "path": path,
                "match": match,
            }
            if match == "regex":
                rule["regex"] = regex
            rules.append(rule)
    if problems:
        raise ValueError("; ".join(problems))
    header = f"# Reviewed choices for {model['pact']}, written by `pact-recorder review --write-rules`.\n"
    return header + yaml.safe_dump({"fields": rules}, sort_keys=False, allow_unicode=True)
