"""A recorded pact as `verify`, `review` and `states scaffold` read it: the document and what it carries for
its verification (its states and, for V3, its evidence: recorder.pact.document's STATES and EVIDENCE), from
wherever it was read (a file, a URL, a broker).

A pact carries everything; the files beside a local one are readable views of it, read only for a pact
recorded before pacts carried them. What never travels in a pact: the request bodies over --max-body that
setups send, kept content-addressed beside the states file (a pact read from a URL has none: its setups
say so)."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recorder.files import beside, load_pact
from recorder.pact.document import EVIDENCE, STATES, meta


@dataclass
class PactSource:
    doc: dict
    origin: str  # the file or URL it was read from, for messages
    bodies: Path | None = None  # where a local pact's setups' kept bodies are
    links: dict = field(default_factory=dict)  # the HAL links a Pact Broker served it with

    @classmethod
    def read(cls, path: Path) -> PactSource:
        """A pact file (ValueError for one that is none), with what an older recording kept only beside it."""
        doc = load_pact(path)
        ours = meta(doc)
        carried = {}
        if STATES not in ours and (states := beside(path, "states")).is_file():
            carried[STATES] = _yaml_file(states)
        if EVIDENCE not in ours and (evidence := beside(path, "evidence")).is_file():
            with suppress(ValueError, AttributeError):  # evidence is for messages and hints, not needed to verify
                carried[EVIDENCE] = json.loads(evidence.read_text(encoding="utf-8")).get("interactions") or {}
        if carried:
            doc.setdefault("metadata", {})["pactRecorder"] = ours | carried
        return cls(doc, str(path), beside(path, "bodies"))

    @property
    def states(self) -> dict | None:
        """The states document the recording wrote (None for a pact from elsewhere)."""
        found = meta(self.doc).get(STATES)
        return found if isinstance(found, dict) else None


def states_file(path: Path) -> dict:
    """A states file given by name (`verify --states-from-recording FILE`); ValueError when it is none."""
    if not path.is_file():
        raise ValueError(f"--states-from-recording {path}: no such file")
    doc = _yaml_file(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("states", []), list):
        raise ValueError(f"--states-from-recording {path}: not a states file written by pact-recorder")
    return doc


def _yaml_file(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not YAML: {e}") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror})") from None
