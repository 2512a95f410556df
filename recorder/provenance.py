"""Values a request took from an earlier response: an id a POST returned, used in a later path.

A recording follows the consumer's story (create, then read what was created); verification replays
each interaction on its own. So the hints say where such a value came from, while the interaction
still gets a state of its own (`user 103 exists`) that lets it be verified alone.
"""

from __future__ import annotations

from recorder.endpoints import to_endpoint
from recorder.infer import Observation
from recorder.model import NO_BODY, Exchange

ID_FIELDS = ("id", "uuid", "key", "slug")
REMEMBERED = 10_000  # bounded: the oldest values are forgotten first


class Provenance:
    def __init__(self) -> None:
        self.produced: dict[str, str] = {}  # value -> where an earlier response gave it

    def remember(self, obs: Observation, exchange: Exchange) -> None:
        """Note the ids this exchange's response handed out (body id fields, the Location path)."""
        origin = f"{obs.key.method} {obs.key.template} returns {obs.key.status}"
        body = exchange.response_json
        if isinstance(body, dict) and body is not NO_BODY:
            for key in ID_FIELDS:
                if isinstance(body.get(key), (int, str)) and not isinstance(body.get(key), bool):
                    self._produce(str(body[key]), f"{origin} ($.{key} of the response)")
        if location := exchange.response_header("location"):
            path = location.split("://", 1)[-1].partition("/")[2] if "://" in location else location.lstrip("/")
            _, values = to_endpoint("/" + path.split("?", 1)[0], obs.ctx.paths)
            for value in values.values():
                self._produce(value, f"{origin} (the Location header)")

    def link(self, obs: Observation, values: dict[str, str]) -> None:
        """For the exchange that is its interaction's example (the first one), record where path
        parameter values handed out by an earlier response came from."""
        if obs.count != 1:
            return
        for name, value in values.items():
            if name not in obs.derived_from and (origin := self.produced.get(value)) is not None:
                obs.derived_from[name] = f"{value} came from an earlier response: {origin}"

    def _produce(self, value: str, origin: str) -> None:
        self.produced.setdefault(value, origin)
        if len(self.produced) > REMEMBERED:
            del self.produced[next(iter(self.produced))]
