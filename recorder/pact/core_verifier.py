"""The one adapter to the Pact core's verifier (pact-python's `Verifier`, in-process), for the self-check
and for `verify`: a verifier set up the same way for both, its own report kept off our output, and what
it reads from this process (the pact with real values filled in, served from memory, never written to
disk, and a state-change URL of ours, behind which a `StateChanger` answers)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from recorder.threadserver import ThreadServer


class StateChanger(Protocol):
    """What answers the verifier's state-change calls: the values it answers reach the generators."""

    def change(self, state: str, params: dict, action: str) -> dict: ...


def verifier(provider: str, provider_url: str, source: str) -> Any:
    """pact-python's Verifier of `provider` at `provider_url`, reading the pact at `source`."""
    from pact import Verifier

    return (
        Verifier(provider, host=urlsplit(provider_url).hostname or "localhost")
        .add_transport(url=provider_url)
        .add_source(source)
        .set_coloured_output(enabled=False)
    )


def verdict(verifier: Any) -> dict:
    """Run the verifier; its results (the core raises on any failure: the verdict is in the results)."""
    with suppress(RuntimeError):
        verifier.verify()
    return verifier.results


class LocalServer(ThreadServer):
    """What the verifier reads from this process, on 127.0.0.1 in a thread: the pact with real values
    filled in (never written to disk) and the state-change URL of a setup from the recording."""

    def __init__(self, pact: bytes, setup: StateChanger | None):
        super().__init__(_handler(pact, setup))
        self.pact_url, self.state_url = f"{self.url}/pact.json", f"{self.url}/_pact/states"


def _handler(pact: bytes, setup: StateChanger | None) -> type[BaseHTTPRequestHandler]:
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


@contextmanager
def output_parked():
    """The Rust verifier prints its own report straight to file descriptors 1 and 2 (and pact-python's
    state callback server logs every call to 2); we print a summary instead."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
