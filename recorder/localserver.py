"""What the verifier reads from this process: the pact with real values filled in (served from memory,
never written to disk) and a state-change URL of ours, behind which either the setups from the
recording run (`statesetup.Setup`) or the provider's own state URL is relayed (`Relay`)."""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from recorder.statesetup import Setup, StateCalls


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


class LocalServer:
    """What the verifier reads from this process, on 127.0.0.1 in a thread: the pact with real values
    filled in (never written to disk) and the state-change URL of a setup from the recording."""

    def __init__(self, pact: bytes, setup: Setup | Relay | None):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pact, setup))
        base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.pact_url, self.state_url = f"{base}/pact.json", f"{base}/_pact/states"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _handler(pact: bytes, setup: Setup | Relay | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(pact)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            try:
                call = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                call = {}
            # Never an error status: the verifier would retry the state change for minutes. A setup
            # that failed is remembered and reported with the interaction.
            state, params, action = call.get("state") or "", call.get("params") or {}, call.get("action") or "setup"
            values = setup.change(state, params, action) if setup is not None else {}
            self._answer(json.dumps(values).encode())

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
