"""Run the Pact core's verifier (pact-python's Verifier, in-process) and summarise what it found."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class InteractionOutcome:
    description: str
    ok: bool
    states: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Verification:
    ok: bool
    outcomes: list[InteractionOutcome]
    errors: list[str]  # problems not tied to one interaction (a pact that would not load)


def verify(pact_path: Path, provider_url: str, state_url: str | None = None) -> Verification:
    """Verify a pact file against a running provider. Raises ValueError for unusable input."""
    from pact import Verifier

    doc = _load(pact_path)
    host = urlsplit(provider_url).hostname or "localhost"
    verifier = (
        Verifier(doc.get("provider", {}).get("name", "provider"), host=host)
        .add_transport(url=provider_url)
        .add_source(str(pact_path))
        .set_coloured_output(enabled=False)
    )
    if state_url:
        verifier.state_handler(state_url, teardown=True, body=True)
    with _stdout_parked(), suppress(RuntimeError):  # raised on any failure; the verdict is in verifier.results
        verifier.verify()
    return _summarise(verifier.results)


def _load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{path}: cannot read the pact ({e.strerror})") from None
    except ValueError as e:
        raise ValueError(f"{path}: not a JSON pact file ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
        raise ValueError(f"{path}: not a pact file (no 'interactions' list)")
    return doc


@contextmanager
def _stdout_parked():
    """The Rust verifier prints its own report straight to file descriptor 1; we print a summary."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _summarise(results: dict) -> Verification:
    outcomes = [
        InteractionOutcome(r["description"], r.get("result") == "OK", list(r.get("providerStates") or []))
        for r in results.get("interactionResults", [])
    ]
    loose = []
    for error in results.get("errors", []):
        owner = next((o for o in outcomes if error.get("interaction", "").endswith(f" - {o.description}")), None)
        problems = _problems(error.get("mismatch", {}))
        if owner is None:
            loose.extend(problems)
        else:
            owner.problems.extend(problems)
    return Verification(bool(results.get("result")) and not loose, outcomes, loose)


def _problems(mismatch: dict) -> list[str]:
    if "mismatches" not in mismatch:
        return [mismatch.get("message", "verification error")]
    out = []
    for m in mismatch["mismatches"]:
        where = {
            "BodyMismatch": "body",
            "HeaderMismatch": "header",
            "StatusMismatch": "status",
            "QueryMismatch": "query",
            "PathMismatch": "path",
            "MethodMismatch": "method",
        }.get(m.get("type"), m.get("type", "?"))
        path = m.get("path") or m.get("key") or ""
        text = m.get("mismatch") or f"expected {m.get('expected')} but was {m.get('actual')}"
        out.append(f"{where} {path}: {text}".replace("  ", " "))
    return out


def render(v: Verification, pact_path: Path, provider_url: str) -> str:
    lines = [f"Verifying {pact_path} against {provider_url}"]
    for o in v.outcomes:
        given = f"  (given {', '.join(o.states)})" if o.states else ""
        lines.append(f"  {'PASS' if o.ok else 'FAIL'}  {o.description}{given}")
        lines += [f"          {p}" for p in o.problems]
    lines += [f"  ERROR {e}" for e in v.errors]
    passed = sum(o.ok for o in v.outcomes)
    verdict = "the pact verified" if v.ok else "the pact did NOT verify"
    lines.append(f"{passed} of {len(v.outcomes)} interaction(s) passed: {verdict}")
    return "\n".join(lines)
