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

from recorder.files import load_pact
from recorder.redact import PLACEHOLDER

CONSTANT_MIN_SAMPLES = 5
ENUM_MIN_SAMPLES = 10
ENUM_MAX_DISTINCT = 3


def load_review(pact_path: Path) -> dict[str, Any]:
    """The review model of a pact (V4 evidence in comments; V3 evidence in the sidecar file)."""
    pact = load_pact(pact_path)
    sidecar = pact_path.with_name(pact_path.name.removesuffix(".json") + ".evidence.json")
    v3 = json.loads(sidecar.read_text(encoding="utf-8"))["interactions"] if sidecar.is_file() else {}
    meta = pact.get("metadata", {}).get("pactRecorder", {})
    return {
        "pact": pact_path.name,
        "consumer": pact.get("consumer", {}).get("name"),
        "provider": pact.get("provider", {}).get("name"),
        "diagnostics": meta.get("diagnostics", {}),
        "interactions": [_interaction(i, v3.get(i.get("description"))) for i in pact["interactions"]],
    }


def _interaction(inter: dict, sidecar: dict | None) -> dict[str, Any]:
    comments = inter.get("comments") or {}
    prov = comments.get("pactRecorder") or sidecar or {}
    states = inter.get("providerStates") or []
    out = {
        "description": inter.get("description"),
        "endpoint": prov.get("endpoint") or f"{inter['request'].get('method')} {inter['request'].get('path')}",
        "status": inter.get("response", {}).get("status"),
        "state": ", ".join(s["name"] for s in states) if states else None,
        "exchanges": prov.get("exchanges"),
        "pending": bool(inter.get("pending")),
        "generated": bool(prov.get("generatedBy")),
        "notes": [t for t in comments.get("text", [])[1:]] + list((sidecar or {}).get("notes", [])),
        "fields": [],
    }
    for where, facts in (prov.get("evidence") or {}).items():
        side, _, part = where.partition(".")
        if part != "body":
            continue
        message = inter.get(side, {})
        rules = (message.get("matchingRules") or {}).get("body", {})
        example = _example(message.get("body"))
        for path, fact in facts.items():
            if "unnamed keys left out" in fact:
                continue
            out["fields"].append(_field(out, where, path, fact, rules.get(path), example))
    return out


def _example(body: Any) -> Any:
    return body.get("content") if isinstance(body, dict) and "content" in body else body


def _field(inter: dict, where: str, path: str, fact: dict, rule: dict | None, body: Any) -> dict[str, Any]:
    matchers = (rule or {}).get("matchers", [])
    field = {
        "where": where,
        "path": path,
        "matcher": " OR ".join(m["match"] for m in matchers)
        if rule and rule.get("combine") == "OR"
        else " AND ".join(m["match"] for m in matchers)
        or ("pruned" if fact.get("pruned") else "left out" if "left out" in fact.get("by", "") else "-"),
        "example": _resolve(body, path),
        "evidence": fact,
        "flags": [],
        "suggestion": None,
    }
    samples, distinct = fact.get("samples", 0), fact.get("distinct")
    endpoint, side = inter["endpoint"], where.split(".")[0]
    name = re.sub(r"[^a-z0-9]+", "-", f"{endpoint} {path}".lower()).strip("-")

    def rule_line(match: str) -> str:
        side_part = ", side: request" if side == "request" else ""
        return f'fields: [{{name: {name}, endpoint: "{endpoint}"{side_part}, path: "{path}", match: {match}}}]'

    if fact.get("optional"):
        field["flags"].append(f"optional: present in {fact.get('present')} of {fact.get('of')}, left out")
        field["suggestion"] = "(the core fails on a missing key: an optional field cannot be in the contract)"
    if fact.get("null"):
        field["flags"].append(f"nullable: null {fact['null']} of {samples}")
    if "redacted" in fact.get("by", "") or field["example"] == PLACEHOLDER:
        field["flags"].append("redacted secret")
        key = re.split(r"[.\[\]']", path)[-2 if path.endswith("]") else -1] or path
        field["suggestion"] = f"secrets: {{allow: [{key}]}}   # only if it is not a secret"
    elif fact.get("by", "").startswith("rule "):
        pass  # a reviewer's rule chose this: nothing to flag
    elif samples == 1:
        field["flags"].append("single sample")
    elif isinstance(distinct, int) and distinct == 1 and samples >= CONSTANT_MIN_SAMPLES and field["matcher"] != "-":
        field["flags"].append(f"constant across {samples} samples but matched by {field['matcher']}")
        field["suggestion"] = rule_line("equality")
    elif isinstance(distinct, int) and 2 <= distinct <= ENUM_MAX_DISTINCT and samples >= ENUM_MIN_SAMPLES:
        field["flags"].append(f"{distinct} distinct values in {samples} samples: an enum?")
        field["suggestion"] = rule_line("enum")
    if "left out" in fact.get("by", "") and not fact.get("optional") and not fact.get("pruned"):
        field["flags"].append(fact["by"])
    return field


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


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _evidence(fact: dict) -> str:
    parts = [f"{k} {v}" for k, v in fact.items() if k in ("samples", "distinct", "null")]
    return ", ".join([fact.get("by", ""), *parts]).strip(", ")


def render_text(model: dict, width: int = 140) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(
        f"Review of {model['pact']}: {model['consumer']} -> {model['provider']}, "
        f"{len(model['interactions'])} interaction(s), {flagged(model)} field(s) flagged"
    )
    if d := model["diagnostics"]:
        console.print(
            f"Recording: {d.get('seen')} exchange(s) seen, {d.get('recorded')} recorded"
            + "".join(f"; skipped {n}: {r}" for r, n in d.get("skipped", {}).items())
            + "".join(f"; redacted {n}: {w}" for w, n in d.get("redacted", {}).items())
        )
    for inter in model["interactions"]:
        console.print()
        tags = [t for t, on in (("PENDING", inter["pending"]), ("hand-written", not inter["generated"])) if on]
        console.print(
            f"{inter['description']}  [{inter['endpoint']} -> {inter['status']}]"
            + (f"  given {inter['state']}" if inter["state"] else "")
            + f"  backed by {inter['exchanges']} exchange(s)"
            + "".join(f"  {t}" for t in tags),
            markup=False,
        )
        for note in inter["notes"]:
            console.print(f"  note: {note}", markup=False)
        if not inter["fields"]:
            continue
        table = Table(show_header=True, header_style=None, box=None, pad_edge=False)
        for col in ("field", "matcher", "example", "evidence", "flags"):
            table.add_column(col, overflow="fold")
        for f in inter["fields"]:
            table.add_row(
                f"{f['where'].split('.')[0]} {f['path']}",
                f["matcher"],
                _short(f["example"]),
                _evidence(f["evidence"]),
                "; ".join(f["flags"]),
            )
        console.print(table)
        for f in inter["fields"]:
            if f["suggestion"]:
                console.print(f"  {f['path']}: {f['suggestion']}", markup=False)
    return buffer.getvalue()


def render_markdown(model: dict) -> str:
    out = [
        f"## Review of `{model['pact']}`",
        "",
        f"{model['consumer']} → {model['provider']}: {len(model['interactions'])} interaction(s), "
        f"{flagged(model)} field(s) flagged.",
        "",
    ]
    for inter in model["interactions"]:
        tags = " **PENDING**" if inter["pending"] else ""
        tags += " _hand-written_" if not inter["generated"] else ""
        out += [
            f"### {inter['description']}{tags}",
            "",
            f"`{inter['endpoint']}` → {inter['status']}"
            + (f", given _{inter['state']}_" if inter["state"] else "")
            + f", backed by {inter['exchanges']} exchange(s)",
            "",
        ]
        out += [f"> {note}" for note in inter["notes"]]
        if inter["fields"]:
            out += ["| field | matcher | example | evidence | flags |", "|---|---|---|---|---|"]
            for f in inter["fields"]:
                cells = [
                    f"`{f['where'].split('.')[0]} {f['path']}`",
                    f["matcher"],
                    f"`{_short(f['example'])}`",
                    _evidence(f["evidence"]),
                    "; ".join(f["flags"]),
                ]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            suggestions = [f for f in inter["fields"] if f["suggestion"]]
            if suggestions:
                out += ["", "Rules that would change a flagged choice:", "```yaml"]
                out += [f"# {f['path']}\n{f['suggestion']}" for f in suggestions]
                out += ["```"]
        out.append("")
    return "\n".join(out)


def render_html(model: dict) -> str:
    e = html.escape
    rows = []
    for inter in model["interactions"]:
        badge = ' <span class="pending">PENDING</span>' if inter["pending"] else ""
        rows.append(
            f"<section><h2>{e(inter['description'])}{badge}</h2><p><code>{e(inter['endpoint'])}</code> → "
            f"{e(str(inter['status']))}"
            + (f", given <em>{e(inter['state'])}</em>" if inter["state"] else "")
            + f", backed by {e(str(inter['exchanges']))} exchange(s)</p>"
        )
        rows += [f'<p class="note">{e(n)}</p>' for n in inter["notes"]]
        if inter["fields"]:
            rows.append(
                "<table><thead><tr><th>field</th><th>matcher</th><th>example</th><th>evidence</th>"
                "<th>flags</th></tr></thead><tbody>"
            )
            for f in inter["fields"]:
                cls = ' class="flagged"' if f["flags"] else ""
                suggestion = f'<div class="rule"><code>{e(f["suggestion"])}</code></div>' if f["suggestion"] else ""
                rows.append(
                    f"<tr{cls}><td><code>{e(f['where'].split('.')[0])} {e(f['path'])}</code></td>"
                    f"<td>{e(f['matcher'])}</td><td><code>{e(_short(f['example'], 80))}</code></td>"
                    f"<td>{e(_evidence(f['evidence']))}</td><td>{e('; '.join(f['flags']))}{suggestion}</td></tr>"
                )
            rows.append("</tbody></table>")
        rows.append("</section>")
    return _HTML.format(
        title=e(f"Review of {model['pact']}"),
        summary=e(
            f"{model['consumer']} → {model['provider']}: {len(model['interactions'])} interaction(s), "
            f"{flagged(model)} field(s) flagged"
        ),
        body="\n".join(rows),
    )


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; margin: .5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top;
          overflow-wrap: anywhere; }}
th {{ background: #f3f3f3; }}
tr.flagged td {{ background: #fff7e0; }}
.pending {{ background: #fde68a; padding: 0 .4em; border-radius: 3px; font-size: 70%; }}
.note {{ color: #555; font-style: italic; }}
.rule code {{ font-size: 90%; color: #064; }}
</style></head>
<body><h1>{title}</h1><p>{summary}</p>
{body}
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
                "name": re.sub(r"[^a-z0-9]+", "-", f"{inter['endpoint']} {path}".lower()).strip("-"),
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
