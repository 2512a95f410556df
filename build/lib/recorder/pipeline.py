"""The one pipeline behind every front door (live addon, `record`, `infer`).

    exchange -> redact -> endpoint -> observation  ...  interactions -> pact + hints -> files

`Recording.add` is cheap and called once per exchange; `Recording.write` builds and writes the
files and can be called as often as needed (on shutdown, on a command, periodically).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from recorder.corecheck import check
from recorder.files import write_atomic
from recorder.infer import Interaction, Observation, observe
from recorder.model import Exchange, InteractionKey
from recorder.pactfile import SPECS, dumps, pact_document, states_hints
from recorder.redact import redact


@dataclass(frozen=True)
class Settings:
    consumer: str
    provider: str
    out_dir: Path
    spec: str = "v4"

    def __post_init__(self) -> None:
        if self.spec not in SPECS:
            raise ValueError(f"spec: expected one of {', '.join(SPECS)}, got {self.spec!r}")
        for role, name in (("consumer", self.consumer), ("provider", self.provider)):
            if not name or any(c in name for c in "/\\\0"):
                raise ValueError(f"{role} {name!r}: must be a non-empty name without '/' (it is used in the file name)")

    @property
    def pact_path(self) -> Path:
        return self.out_dir / f"{self.consumer}-{self.provider}.json"

    @property
    def hints_path(self) -> Path:
        return self.out_dir / f"{self.consumer}-{self.provider}.states.yaml"


class Recording:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.observations: dict[InteractionKey, Observation] = {}
        self.seen = 0
        self.skipped: Counter[str] = Counter()

    def add(self, exchange: Exchange) -> None:
        self.seen += 1
        observe(self.observations, redact(exchange))

    def skip(self, reason: str) -> None:
        """Count traffic that reached us but is not recorded, with the reason a user would want."""
        self.seen += 1
        self.skipped[reason] += 1

    def interactions(self) -> list[Interaction]:
        return [obs.to_interaction() for obs in self.observations.values()]

    def write(self) -> tuple[Path, Path] | None:
        """Write the pact and the hints; None, writing nothing, when nothing was recorded (an empty
        pact would only replace a good one). The Pact core must accept the pact first: a file it
        would reject never replaces a good one (that would be our bug, reported as a RuntimeError)."""
        if not self.observations:
            return None
        s = self.settings
        interactions = self.interactions()
        document = pact_document(s.consumer, s.provider, interactions, s.spec)
        text = dumps(document)
        try:
            check(document, text)
        except ValueError as e:
            raise RuntimeError(f"pact-recorder bug: {s.pact_path} not written, {e}. Please report it.") from None
        write_atomic(s.pact_path, text)
        write_atomic(s.hints_path, states_hints(s.consumer, s.provider, interactions))
        return s.pact_path, s.hints_path

    def write_and_report(self) -> str:
        """Write the files and say what happened, for the end of a run."""
        written = self.write()
        if written is None:
            return f"{self.summary()}\nNothing was recorded, so no pact was written."
        return "\n".join([self.summary(), *(f"Wrote {p}" for p in written)])

    def summary(self) -> str:
        recorded = self.seen - sum(self.skipped.values())
        lines = [f"{self.seen} exchange(s) seen, {recorded} recorded into {len(self.observations)} interaction(s)"]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        return "\n".join(lines)
