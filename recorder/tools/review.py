"""`pact-recorder review PACT`: what was inferred and why, with what a reviewer should look at.

The review is built as plain data first (that is `--format json`), then rendered for a terminal (rich),
a pull request (Markdown) or a browser (one self-contained HTML page). Each flagged field comes with the
one-line rule that would change the choice; `--decisions FILE --write-rules OUT` turns a reviewer's
accept/override per field into a rule file that `infer --rules OUT` applies.
"""

from __future__ import annotations

import html
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
    pact = PactSource.read(pact_path).doc
    v3 = carried_evidence(pact)
    meta = pact.get("metadata", {}).get("pactRecorder", {})
    interactions = [_interaction(i, v3.get(i.get("description"))) for i in pact["interactions"]]
    _flag_several_outcomes(interactions)
    return {
        "pact": pact_path.name,
        "consumer": pact.get("consumer", {}).get("name"),
        "provider": pact.get("provider", {}).get("name"),
        "diagnostics": meta.get("diagnostics", {}),
        "interactions": interactions,
    }


def _interaction(inter: dict, sidecar: dict | None) -> dict[str, Any]:
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
        "endpoint": endpoint,
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
    secrets = {fill.where(s): s for s in prov.get("secrets") or []}
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


def _slug(text: str) -> str:
    """A rule name from an endpoint and a path: `get-users-id-status`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _field_rule(inter: dict, side: str, path: str, match: str) -> str:
    endpoint = inter["endpoint"]
    name = _slug(f"{endpoint} {path}")
    side_part = ", side: request" if side == "request" else ""
    return f'fields: [{{name: {name}, endpoint: "{endpoint}"{side_part}, path: "{path}", match: {match}}}]'


def _verify_option(secret: dict | None, header: str | None = None) -> str:
    option = fill.option(secret) if secret else f"--header '{header}: VALUE'" if header else "--secret NAME=VALUE"
    return f"pact-recorder verify PACT {option}" + ("   # or --states-from-recording if it set it" if secret else "")


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
        out.append(_row("request.query", name, matcher, value, facts.get(name, {}), flags))
    inter["threats"] += [f | {"where": f"query {r['path']}"} for r in out for f in r["flags"]]
    return out


def _headers(inter: dict, side: str, message: dict, rules: dict, evidence: dict, secrets: dict) -> list[dict]:
    out = []
    facts = evidence.get(f"{side}.headers", {})
    for name, values in (message.get("headers") or {}).items():
        value = ", ".join(map(str, values)) if isinstance(values, list) else values
        matcher = _matcher(rules.get(name)) or "equality"
        flags = []
        if side == "request" and "redacted" in facts.get(name, {}).get("by", "") + value:
            flags.append(
                _flag(
                    f"redacted request header {name}: the verifier sends a placeholder unless given the real value",
                    _verify_option(secrets.get(f"header {name}"), name),
                )
            )
        elif side == "response" and matcher == "equality" and re.search(r"\d", value):
            # A constant with digits in it (a date, a count, an id, a version) is often constant only
            # because the recording was short: pinned, another provider run answers another one.
            low = name.lower()
            rule = f"headers: [{{name: {low}-any, side: response, headers: [{low}], action: regex, regex: '^.+$'}}]"
            flags.append(
                _flag(f"response header {name} pinned to {value!r}: the provider must send exactly this", rule)
            )
        inter["threats"] += [f | {"where": f"{side} header {name}"} for f in flags]
        out.append(_row(f"{side}.headers", name, matcher, value, facts.get(name, {}), flags))
    return out


def _field(inter: dict, where: str, path: str, fact: dict, rule: dict | None, body: Any, secrets: dict) -> dict:
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
        if side == "request":
            flags.append(
                _flag(
                    f"redacted request value (body {path}): the verifier sends a placeholder unless given the real one",
                    _verify_option(secrets.get(f"the JSON body's {path}")),
                )
            )
            inter["threats"].append(flags[-1] | {"where": f"request body {path}"})
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
    elif samples == 1 and side == "response" and not isinstance(field["example"], (dict, list)):
        flags.append(_flag("single sample", _field_rule(inter, side, path, "equality") + "   # if it is a constant"))
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
    """Many sibling fields flagged alike are one flag on their parent: a map keyed by data (metric names,
    ids) is not a hundred fields to review."""
    groups: dict[tuple, list[dict]] = {}
    for f in inter["fields"]:
        if f["flags"] and f["where"].endswith(".body"):
            parent = _ancestors(f["path"])[-1] if f["path"] != "$" else "$"
            kind = re.sub(r"[\d.]+|'[^']*'", "", f["flags"][0]["flag"])  # "single sample", "constant across"
            groups.setdefault((f["where"], parent, kind), []).append(f)
    for (where, parent, _), members in groups.items():
        if len(members) <= MAP_MIN_KEYS:
            continue
        for f in members:
            f["flags"] = []
        flag = _flag(
            f"{len(members)} keys flagged alike: a map keyed by data? each key is a field of the contract",
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
    name = _slug(endpoint)
    inter["threats"].append(
        {
            "flag": "no provider state: the resource its path names must exist when it is verified",
            "rule": f'states: [{{name: {name}, endpoint: "{endpoint}", status: {status}, state: "... exists"}}]',
            "where": "provider state",
        }
    )


_SEVERAL_OUTCOMES = "the same request in the same provider states was recorded with another outcome"


def _flag_several_outcomes(interactions: list[dict]) -> None:
    """The same request in the same states answered with several outcomes: verification can pass only
    one of them (the recording cannot tell what made the difference)."""
    by_request: dict[tuple, list[dict]] = {}
    for inter in interactions:
        if inter["request"] is not None:
            by_request.setdefault((inter["request"], inter["state"]), []).append(inter)
    for same in by_request.values():
        for inter in same if len({i["status"] for i in same}) > 1 else ():
            others = ", ".join(repr(i["description"]) for i in same if i is not inter)
            inter["threats"].insert(
                0,
                {
                    "flag": f"{_SEVERAL_OUTCOMES} ({others}): a verification can pass only one of them",
                    "rule": f'states: [{{name: {_slug(inter["description"])}, endpoint: "{inter["endpoint"]}", '
                    f'status: {inter["status"]}, state: "..."}}]   # a state of its own',
                    "where": "outcome",
                },
            )


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


def threats(model: dict) -> list[tuple[list[str], dict]]:
    """What would make verification fail, worst first: (the interactions it is in, threat); the same
    threat in many interactions (a redacted Authorization header) is one."""
    order = ("outcome", "provider state", "request", "response", "query")
    found: dict[tuple, tuple[list[str], dict]] = {}
    for inter in model["interactions"]:
        for t in inter["threats"]:
            found.setdefault((t["flag"], t["rule"]), ([], t))[0].append(inter["description"])
    return sorted(found.values(), key=lambda it: next(n for n, o in enumerate(order) if it[1]["where"].startswith(o)))


def _where(descriptions: list[str]) -> str:
    return descriptions[0] if len(descriptions) == 1 else f"{len(descriptions)} interactions ({descriptions[0]}, ...)"


def account(model: dict) -> str | None:
    """The run's account: exchanges seen, recorded, skipped and redacted."""
    if not (d := model["diagnostics"]):
        return None
    return (
        f"Recording: {d.get('seen')} exchange(s) seen, {d.get('recorded')} recorded"
        + "".join(f"; skipped {n}: {r}" for r, n in d.get("skipped", {}).items())
        + "".join(f"; redacted {n}: {w}" for w, n in d.get("redacted", {}).items())
    )


def _summary(model: dict) -> str:
    return (
        f"{model['consumer']} -> {model['provider']}: {len(model['interactions'])} interaction(s), "
        f"{len(threats(model))} threat(s) to verification, {flagged(model)} field(s) flagged"
    )


def _heading(inter: dict) -> str:
    """`GET /users/1 -> 200, given user exists, backed by 2 exchange(s)` (what is known of it)."""
    parts = [f"{inter['request'] or inter['endpoint']}" + (f" -> {inter['status']}" if inter["status"] else "")]
    parts += [f"given {inter['state']}"] if inter["state"] else []
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


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _evidence(fact: dict) -> str:
    parts = [f"{k} {v}" for k, v in fact.items() if k in ("samples", "distinct", "null")]
    return ", ".join([fact.get("by", ""), *parts]).strip(", ")


def _cells(f: dict, limit: int = 40) -> list[str]:
    return [
        _label(f),
        f["matcher"],
        _short(f["example"], limit),
        _evidence(f["evidence"]),
        "; ".join(x["flag"] for x in f["flags"]),
    ]


COLUMNS = ("field", "matcher", "example", "evidence", "flags")


def render_text(model: dict, width: int = 140) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(f"Review of {model['pact']}: {_summary(model)}", markup=False)
    if line := account(model):
        console.print(line, markup=False)
    if found := threats(model):
        console.print("\nThreats to verification (fix these first):", markup=False)
        for names, t in found:
            console.print(f"  {_where(names)}: {t['flag']}\n    {t['rule']}", markup=False)
    for inter in model["interactions"]:
        console.print()
        console.print(f"{inter['description']}  [{_heading(inter)}]", markup=False)
        for note in inter["notes"]:
            console.print(f"  note: {note}", markup=False)
        if not inter["fields"]:
            continue
        table = Table(show_header=True, header_style=None, box=None, pad_edge=False)
        for col in COLUMNS:
            table.add_column(col, overflow="fold")
        for f in inter["fields"]:
            table.add_row(*_cells(f))
        console.print(table)
        for f in inter["fields"]:
            for x in f["flags"]:
                console.print(f"  {_label(f)}: {x['rule']}", markup=False)
    return buffer.getvalue()


def render_markdown(model: dict) -> str:
    out = [f"## Review of `{model['pact']}`", "", _summary(model).replace(" -> ", " → ", 1) + ".", ""]
    if line := account(model):
        out += [line, ""]
    if found := threats(model):
        out += ["### Threats to verification", ""]
        out += [f"- **{_where(names)}**: {t['flag']}  \n  `{t['rule']}`" for names, t in found]
        out.append("")
    for inter in model["interactions"]:
        tags = " **PENDING**" if inter["pending"] else ""
        out += [f"### {inter['description']}{tags}", "", f"`{_heading(inter)}`", ""]
        out += [f"> {note}" for note in inter["notes"]]
        if inter["fields"]:
            out += ["| " + " | ".join(COLUMNS) + " |", "|---|---|---|---|---|"]
            for f in inter["fields"]:
                cells = _cells(f)
                cells[0], cells[2] = f"`{cells[0]}`", f"`{cells[2]}`"
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            rules = [(f, x) for f in inter["fields"] for x in f["flags"]]
            if rules:
                out += ["", "Rules that would change a flagged choice:", "```yaml"]
                out += [f"# {_label(f)}: {x['flag']}\n{x['rule']}" for f, x in rules]
                out += ["```"]
        out.append("")
    return "\n".join(out)


def _anchor(n: int) -> str:
    return f"i{n}"


def render_html(model: dict) -> str:
    e = html.escape
    toc, rows = [], []
    for n, inter in enumerate(model["interactions"]):
        count = sum(1 for f in inter["fields"] if f["flags"]) + len(inter["threats"])
        marked = ' class="has-flags"' if count else ""
        toc.append(
            f'<li{marked}><a href="#{_anchor(n)}">{e(inter["description"])}</a>'
            + (f" ({count})" if count else "")
            + "</li>"
        )
        badge = ' <span class="pending">PENDING</span>' if inter["pending"] else ""
        rows.append(f'<section id="{_anchor(n)}"{marked}><h2>{e(inter["description"])}{badge}</h2>')
        rows.append(f"<p><code>{e(_heading(inter))}</code></p>")
        rows += [f'<p class="note">{e(note)}</p>' for note in inter["notes"]]
        rows += [f'<p class="threat">{e(t["flag"])}<br><code>{e(t["rule"])}</code></p>' for t in inter["threats"]]
        if inter["fields"]:
            rows.append(
                '<table><colgroup><col class="c-field"><col class="c-matcher"><col class="c-example">'
                '<col class="c-evidence"><col class="c-flags"></colgroup><thead><tr>'
                + "".join(f"<th>{c}</th>" for c in COLUMNS)
                + "</tr></thead><tbody>"
            )
            for f in inter["fields"]:
                cls = ' class="flagged"' if f["flags"] else ""
                label, matcher, example, evidence, _ = _cells(f, 80)
                flags = "".join(
                    f'<div>{e(x["flag"])}</div><div class="rule"><code>{e(x["rule"])}</code></div>' for x in f["flags"]
                )
                rows.append(
                    f"<tr{cls}><td><code>{e(label)}</code></td><td>{e(matcher)}</td><td><code>{e(example)}</code></td>"
                    f"<td>{e(evidence)}</td><td>{flags}</td></tr>"
                )
            rows.append("</tbody></table>")
        rows.append("</section>")
    found = threats(model)
    anchors = {i["description"]: _anchor(n) for n, i in enumerate(model["interactions"])}
    threat_list = "".join(
        f'<li><a href="#{anchors[names[0]]}">{e(_where(names))}</a>: {e(t["flag"])}<br><code>{e(t["rule"])}</code></li>'
        for names, t in found
    )
    return _HTML.format(
        title=e(f"Review of {model['pact']}"),
        summary=e(_summary(model)),
        account=f"<p>{e(line)}</p>" if (line := account(model)) else "",
        threats=f'<h2 id="threats">Threats to verification</h2><ol>{threat_list}</ol>' if found else "",
        toc="\n".join(toc),
        body="\n".join(rows),
    )


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; margin: .5em 0 1.5em; }}
col.c-field {{ width: 24%; }} col.c-matcher {{ width: 12%; }} col.c-example {{ width: 16%; }}
col.c-evidence {{ width: 18%; }} col.c-flags {{ width: 30%; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top;
          overflow-wrap: anywhere; }}
th {{ background: #f3f3f3; }}
tr.flagged td {{ background: #fff7e0; }}
.pending {{ background: #fde68a; padding: 0 .4em; border-radius: 3px; font-size: 70%; }}
.note {{ color: #555; font-style: italic; }}
.threat {{ background: #fde2e1; padding: 4px 6px; overflow-wrap: anywhere; }}
.rule code, .threat code {{ font-size: 90%; color: #064; }}
nav ul {{ columns: 2; }}
/* the flagged-only filter: a checkbox, no script */
#flagged-only:checked ~ main tr:not(.flagged), #flagged-only:checked ~ main section:not(.has-flags),
#flagged-only:checked ~ nav li:not(.has-flags) {{ display: none; }}
</style></head>
<body><h1>{title}</h1><p>{summary}</p>{account}
{threats}
<input type="checkbox" id="flagged-only"><label for="flagged-only"> show flagged fields only</label>
<nav><h2>Interactions</h2><ul>
{toc}
</ul></nav>
<main>
{body}
</main>
</body></html>
"""


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
                "name": _slug(f"{inter['endpoint']} {path}"),
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
