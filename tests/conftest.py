"""Shared fixtures: real servers on 127.0.0.1 (free ports), real processes, always stopped."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from examples import procs
from examples.users.provider import make_server
from recorder.record.proxy import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "pact-recorder")
MITMDUMP = str(BIN / "mitmdump")
CONSUMER, PROVIDER = "user-web", "user-service"
PACT_NAME = f"{CONSUMER}-{PROVIDER}.json"

os.environ["PACT_DO_NOT_TRACK"] = "true"

# Bounded by default (make test); `pytest --hypothesis-profile=thorough` searches much longer.
settings.register_profile("default", max_examples=25)
settings.register_profile("thorough", max_examples=400)
settings.load_profile("default")


class NotUnit(Exception):
    """A test marked unit started a server or a process."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test marked `unit` (the fast layer, `make check`) may not listen on a socket or start a process,
    in its fixtures either: the mark must be true for the layer to stay fast."""
    if item.get_closest_marker("unit") is None:
        return (yield)

    def refuse(what: str):
        def refused(*args, **kwargs):
            raise NotUnit(f"{item.nodeid} is marked unit but {what}: take the mark off (it belongs to make test)")

        return refused

    listen, popen = socket.socket.listen, subprocess.Popen.__init__
    socket.socket.listen, subprocess.Popen.__init__ = refuse("listens on a socket"), refuse("starts a process")
    try:
        return (yield)
    finally:
        socket.socket.listen, subprocess.Popen.__init__ = listen, popen


class RunningProvider:
    def __init__(self, breaking: str | None = None, **options):
        self.server = make_server(0, breaking, **options)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state_url = f"{self.url}/_pact/provider_states"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def users_provider() -> Iterator[callable]:
    """Start example users providers (in this process, on free ports); all stopped at the end."""
    started: list[RunningProvider] = []

    def start(breaking: str | None = None) -> RunningProvider:
        started.append(RunningProvider(breaking))
        return started[-1]

    yield start
    for p in started:
        p.stop()


def cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run `pact-recorder ARGS` as a user would, output captured as text."""
    result = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def mitmdump_args(upstream: str, confdir: Path | str, *sets: str) -> list[str]:
    """Plain mitmdump with our addon script, reverse-proxying to `upstream`, each `sets` as --set."""
    args = [
        MITMDUMP,
        "-s",
        str(ROOT / "addons" / "pact_recorder.py"),
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--mode",
        f"reverse:{upstream}",
        "--set",
        f"confdir={confdir}",
        "--set",
        "flow_detail=0",
    ]
    for s in sets:
        args += ["--set", s]
    return args


def record_through(args: list[str], exercise, signal_number: int = signal.SIGTERM, **start) -> procs.Process:
    """Start a recording proxy, run `exercise(proxy_url)` through it, stop it; it must exit 0."""
    proxy = procs.start(args, **{"cwd": str(ROOT), **start})
    try:
        exercise(proxy.url)
    finally:
        code = proxy.stop(signal_number)
    assert code == 0, proxy.output
    return proxy


def recorder_args(target: str, out: Path, *extra: str, consumer: str = CONSUMER, provider: str = PROVIDER) -> list[str]:
    return [
        CLI,
        "record",
        "--consumer",
        consumer,
        "--provider",
        provider,
        "--target",
        target,
        "--listen",
        "127.0.0.1:0",
        "--out",
        str(out),
        "--confdir",
        str(out / "conf"),
        *extra,
    ]


@pytest.fixture
def mitm_confdir(tmp_path) -> str:
    """A private mitmproxy confdir, so tests never touch ~/.mitmproxy."""
    d = tmp_path / "mitmconf"
    d.mkdir()
    yield str(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def mock_master() -> Iterator[int]:
    """A `pact mock` master on 127.0.0.1 (stopped after the test); its port."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "pact"), "mock", "start", "-p", str(port), "-h", "127.0.0.1", "--no-file-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:  # wait until the master accepts connections
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert proc.poll() is None and time.monotonic() < deadline, "pact mock did not start"
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def mock_serving(master: int, pact: Path) -> int:
    """The port of a mock server that `master` starts to serve `pact`."""
    created = subprocess.run(
        [str(BIN / "pact"), "mock", "create", "-p", str(master), "-h", "127.0.0.1", "-f", str(pact)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = created.stdout.strip().rsplit(" ", 1)[-1]
    assert created.returncode == 0 and port.isdigit(), created.stdout + created.stderr
    return int(port)
