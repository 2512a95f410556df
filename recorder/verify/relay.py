"""`verify --state-url`: the provider's own state-change URL, called through ours."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from recorder.verify.recorded_states import Setup, StateCalls


@dataclass
class Relay:
    """The provider's own state-change URL (`verify --state-url`), called through ours: a setup it
    refuses is reported with the URL and its answer at once (the verifier would retry it for minutes
    and then say only that a state change failed); what it answers reaches the generators as before."""

    url: str
    calls: StateCalls = field(default_factory=StateCalls)

    def change(self, state: str, params: dict, action: str) -> dict:
        self.calls.track(state, action)
        parts = urlsplit(self.url)
        body = json.dumps({"state": state, "params": params, "action": action}).encode()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            answer = Setup._once(parts, "POST", target, {"Content-Type": "application/json"}, body)
        except (OSError, http.client.HTTPException) as e:
            return self._failed(state, action, f"the state URL {self.url} could not be reached: {e}")
        if not 200 <= answer.status < 300:
            text = answer.body[:200].decode("utf-8", "replace")
            return self._failed(state, action, f"the state URL {self.url} answered {answer.status}: {text}")
        values = answer.json()
        return values if isinstance(values, dict) else {}

    def _failed(self, state: str, action: str, problem: str) -> dict:
        if state and action != "teardown":  # the core calls it for interactions without states too
            self.calls.failed(state, problem)
        return {}
