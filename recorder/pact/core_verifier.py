"""The one adapter to the Pact core's verifier (pact-python's `Verifier`, in-process), for the self-check
and for `verify`: a verifier set up the same way for both, its own report kept off our output, and what
it reads from this process (the pact with real values filled in, served from memory, never written to
disk, and a state-change URL of ours, behind which a `StateChanger` answers)."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from recorder.threadserver import ThreadServer


class StateChanger(Protocol):
    """What answers the verifier's state-change calls: the values it answers reach the generators."""

    def change(self, state: str, params: dict, action: str) -> dict: ...


@dataclass(frozen=True)
class Publish:
    """Verification results to publish to the Pact Broker a pact came from, through the core: the provider
    version (and branch, build URL) and the broker's credentials."""

    version: str
    branch: str | None = None
    build_url: str | None = None
    auth: dict[str, str] = field(default_factory=dict)  # token, or username and password


def verifier(provider: str, provider_url: str, source: str, publish: Publish | None = None) -> Any:
    """pact-python's Verifier of `provider` at `provider_url`, reading the pact at `source` (with `publish`:
    a LocalServer's broker index, so that the core publishes the results where the pact's links say)."""
    from pact import Verifier

    core = Verifier(provider, host=urlsplit(provider_url).hostname or "localhost").add_transport(url=provider_url)
    if publish is None:
        core.add_source(source)
    else:
        core.broker_source(source, **publish.auth, selector=True, use_env=False).build()
        core.set_publish_options(publish.version, url=publish.build_url, branch=publish.branch)
    return core.set_coloured_output(enabled=False)


def verdict(verifier: Any) -> dict:
    """Run the verifier; its results (the core raises on any failure: the verdict is in the results), with
    `unpublished`: why the results could not be published, when they were to be (the core only logs it)."""
    said = _Said()
    logger = logging.getLogger("pact.ffi.pact_verifier")
    logger.addHandler(said)
    try:
        with suppress(RuntimeError):
            verifier.verify()
    finally:
        logger.removeHandler(said)
    return verifier.results | {"unpublished": said.unpublished}


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.unpublished: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "Publishing of verification results failed" in (message := record.getMessage()):
            self.unpublished.append(message)


class LocalServer(ThreadServer):
    """What the verifier reads from this process, on 127.0.0.1 in a thread: the pact with real values
    filled in (never written to disk) and the state-change URL of a setup from the recording.

    For a pact from a broker (`links`: the HAL links it came with), the server's root is that pact's broker
    to the core: an index, the pacts for verification (only this one), and every other request relayed to
    the broker the links name. The core publishes its results there (it keeps only the path of a link and
    asks its broker, this server, for it)."""

    def __init__(self, pact: dict, links: dict | None, setup: StateChanger | None):
        super().__init__(_handler(setup, self))
        self.pact_url, self.state_url = f"{self.url}/pact.json", f"{self.url}/_pact/states"
        self.broker = None
        if links is not None:
            pact = pact | {"_links": links | {"self": {"href": self.pact_url}}}  # the core needs its `self`
            hrefs = [urlsplit(link.get("href") or "") for link in links.values() if isinstance(link, dict)]
            self.broker = next((f"{u.scheme}://{u.netloc}" for u in hrefs if u.netloc), None)
        self.pact = json.dumps(pact).encode()

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        """Status, body and content type of a request to this server (not the state changes)."""
        if self.broker is None or path == "/pact.json":
            return 200, self.pact, JSON
        if path == "/":
            href = f"{self.url}{FOR_VERIFICATION_PATH}{{provider}}"
            return 200, json.dumps({"_links": {FOR_VERIFICATION: {"href": href, "templated": True}}}).encode(), JSON
        if path.startswith(FOR_VERIFICATION_PATH) and method == "GET":  # the core reads its `self`, POSTs there
            return 200, json.dumps({"_links": {"self": {"href": self.url + path}}}).encode(), JSON
        if path.startswith(FOR_VERIFICATION_PATH):
            pact = {"shortDescription": "the pact", "_links": {"self": {"href": self.pact_url}}}
            listed = {"_embedded": {"pacts": [pact | {"verificationProperties": {"notices": []}}]}}
            return 200, json.dumps(listed).encode(), JSON
        return _relay(self.broker + path, method, headers, body)


JSON = "application/json"
FOR_VERIFICATION, FOR_VERIFICATION_PATH = "pb:provider-pacts-for-verification", "/for-verification/"
RELAYED = ("Authorization", "Accept", "Content-Type")


def _relay(url: str, method: str, headers: Any, body: bytes) -> tuple[int, bytes, str]:
    """A request of the core's to its broker, sent on to the real one; its answer, whatever the status."""
    sent = {k: v for k in RELAYED if (v := headers.get(k))}
    request = urllib.request.Request(url, data=body if method != "GET" else None, headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type") or JSON
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type") or JSON
    except (urllib.error.URLError, OSError) as e:
        return 502, json.dumps({"error": f"{url}: {getattr(e, 'reason', e)}"}).encode(), JSON


def _handler(setup: StateChanger | None, server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(*server.answer("GET", self.path, self.headers, b""))

        def do_PUT(self) -> None:  # noqa: N802
            self._answer(*server.answer("PUT", self.path, self.headers, self._body()))

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            if self.path != "/_pact/states":
                self._answer(*server.answer("POST", self.path, self.headers, body))
                return
            try:
                call = json.loads(body or b"{}")
            except ValueError:
                call = {}
            # Never an error status: the verifier would retry the state change for minutes. A setup
            # that failed is remembered and reported with the interaction.
            state, params, action = call.get("state") or "", call.get("params") or {}, call.get("action") or "setup"
            values = setup.change(state, params, action) if setup is not None else {}
            self._answer(200, json.dumps(values).encode(), JSON)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
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
