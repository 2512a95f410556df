"""The HTML review: one self-contained page a reviewer works in (`review --format html`).

The summary first, then what threatens verification, a table of contents by resource, a search box and a
"flagged only" toggle, one collapsible section per interaction (flagged ones open), and on every flagged
body field a choice (accept, equality, enum, ignore, type, integer, decimal, number, regex) that the page
saves as the decisions file `review --decisions FILE --write-rules OUT` reads.

The page is `templates/review.html.j2` rendered by Jinja2 with autoescape on, from `page_context(model)`:
plain data read off the review model's public parts, so the template never reaches into the model.
"""

from __future__ import annotations

import functools
from pathlib import PurePath
from typing import Any

import jinja2

from recorder.tools import review

# What a reviewer may decide for a field, in the order the page offers them (`review.write_rules` reads them).
DECISIONS = ("accept", "equality", "enum", "ignore", "type", "integer", "decimal", "number", "regex")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("recorder.tools", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a name the context lacks is a bug, not an empty string
    )


def render_html(model: dict) -> str:
    """The page; the same model gives the same bytes."""
    return _environment().get_template("review.html.j2").render(page_context(model))


def page_context(model: dict) -> dict[str, Any]:
    """Everything the template shows, as plain values: the summary, the threats by kind, resources,
    interactions."""
    interactions = [_interaction(n, inter) for n, inter in enumerate(model["interactions"])]
    anchors = {i["description"]: i["anchor"] for i in reversed(interactions)}  # the first of a description
    return {
        "title": f"Review of {model['pact']}",
        "sentence": review.summary_lines(model)[0],
        "summary": _tiles(model["summary"]),
        "account": review.account(model),
        "verify": model["summary"]["verify"],
        "between": model["summary"]["between"],
        "threat_classes": model["threat_classes"],
        "anchors": anchors,
        "resources": _resources(interactions),
        "interactions": interactions,
        "flagged_interactions": sum(1 for i in interactions if i["flagged"]),
        "decisions": DECISIONS,
        "decisions_file": f"{PurePath(model['pact']).stem}.decisions.json",
        "pact": model["pact"],
    }


def _tiles(summary: dict) -> dict[str, Any]:
    """The summary's figures, one tile each (what the self-check loosened only where it did)."""
    tiles = {
        "Interactions": summary["interactions"],
        **({"Exchanges": summary["exchanges"]} if summary["exchanges"] else {}),
        "Resources": len(summary["resources"]),
        "Provider states": len(summary["states"]),
        **{f"Threats: {severity}": n for severity, n in summary["threats"].items()},
        "Fields flagged": summary["flagged"],
    }
    if summary["loosened"]:
        tiles["Loosened by the self-check"] = summary["loosened"]
    return tiles


def _interaction(n: int, inter: dict) -> dict[str, Any]:
    fields = [_field(inter, f) for f in inter["fields"]]
    flagged = sum(1 for f in fields if f["flags"]) + len(inter["threats"])
    words = [inter["description"], inter["endpoint"], inter["request"] or "", *(f["label"] for f in fields)]
    return {
        "anchor": f"i{n}",
        "description": inter["description"],
        # grouped by endpoint and, where the requests name it inside them, operation (`POST /graphql query Post`)
        "endpoint": f"{inter['endpoint']} {inter['operation']}" if inter.get("operation") else inter["endpoint"],
        "heading": review.heading(inter),
        "pending": inter["pending"],
        "notes": inter["notes"],
        "threats": inter["threats"],
        "fields": fields,
        "flagged": flagged,
        "search": " ".join(words).lower(),
    }


def _field(inter: dict, f: dict) -> dict[str, Any]:
    label, matcher, example, evidence, _ = review.cells(f, 80)
    return {
        "label": label,
        "matcher": matcher,
        "example": example,
        "evidence": evidence,
        "flags": f["flags"],
        "path": f["path"],
        # A decision becomes a `fields` rule, which names a body field by its JSONPath; a flagged header
        # or query parameter keeps the rule shown beside it instead.
        "decidable": bool(f["flags"]) and f["where"].endswith(".body") and f["path"].startswith("$"),
    }


def _resources(interactions: list[dict]) -> list[dict[str, Any]]:
    """Interactions grouped by endpoint, in the pact's order, each group with how many are flagged."""
    groups: dict[str, list[dict]] = {}
    for inter in interactions:
        groups.setdefault(inter["endpoint"], []).append(inter)
    return [
        {
            "endpoint": endpoint,
            "interactions": [{**i, "label": _short_label(i["description"], endpoint)} for i in members],
            "flagged": sum(1 for i in members if i["flagged"]),
        }
        for endpoint, members in groups.items()
    ]


def _short_label(description: str, endpoint: str) -> str:
    """`returns 200 (query limit)` under `GET /stores`: what the group heading says is not said again."""
    rest = description.removeprefix(f"{endpoint} ")
    return rest if rest != description and rest.strip() else description
