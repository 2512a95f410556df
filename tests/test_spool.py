"""The traffic never waits for inference: when the recording process falls behind (here: stopped with
SIGSTOP), exchanges wait in an encrypted on-disk spool; it catches up at stop, and nothing is lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from examples import procs
from examples.jsonserver import serving
from recorder.record.spool import Spool, new_key, read_chunk
from tests.conftest import PACT_NAME, recorder_args
from tests.test_reliability import Echo, recording_process, send, wait_until_dead

SECRET = "hunter2-correct-horse"


@pytest.fixture(scope="module")
def echo():
    with serving(Echo) as url:
        yield url


def big(n: int) -> bytes:
    """~100 KB of JSON carrying a password: ten of them fill the pipe to the recording process."""
    return json.dumps({"n": n, "password": SECRET, "notes": ["plain text that must not reach disk"] * 2500}).encode()


def recorded(out: Path) -> int:
    pact = json.loads((out / PACT_NAME).read_text())
    return sum(i["comments"]["pactRecorder"]["exchanges"] for i in pact["interactions"])


@contextlib.contextmanager
def stopped_child(echo: str, tmp_path: Path, *extra: str) -> Iterator[tuple[procs.Process, int]]:
    """A recorder whose spool goes under tmp_path, and its recording process stopped (SIGSTOP); the
    recorder is stopped at the end whatever happened (the test stops it first to check how it ends)."""
    proxy = procs.start(recorder_args(echo, tmp_path, *extra), env={"TMPDIR": str(tmp_path)})
    child = recording_process(proxy)
    os.kill(child, signal.SIGSTOP)
    try:
        yield proxy, child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGCONT)
        proxy.stop(signal.SIGKILL)
        wait_until_dead(child)


def send_big(proxy: procs.Process, count: int) -> None:
    for n in range(count):
        assert send(proxy.url, big(n), "application/json", None, path=f"/echo/{n}")[0] == 200


def spooled(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("pact-recorder-spool-*/*.spool"))


def test_a_recording_process_that_is_behind_never_slows_the_traffic_and_catches_up_at_stop(echo, tmp_path):
    with stopped_child(echo, tmp_path) as (proxy, child):
        send_big(proxy, 40)  # ~4 MB, four pipes full: without the spool the proxy would wait for the child
        assert spooled(tmp_path), "the exchanges should be waiting in the spool"
        on_disk = b"".join(p.read_bytes() for p in spooled(tmp_path))
        assert len(on_disk) > 1_000_000
        assert SECRET.encode() not in on_disk and b"must not reach disk" not in on_disk  # encrypted
        os.kill(child, signal.SIGCONT)
        assert proxy.stop() == 0, proxy.output
    assert recorded(tmp_path) == 40
    assert "MB of spooled exchanges in" in proxy.output  # at stop, with how long it took
    assert SECRET not in (tmp_path / PACT_NAME).read_text()
    assert not list(tmp_path.glob("pact-recorder-spool-*")), "the spool is removed at the end"


def test_while_the_traffic_is_quiet_the_recording_process_catches_up_on_the_spool(echo, tmp_path):
    with stopped_child(echo, tmp_path) as (proxy, child):
        send_big(proxy, 30)
        os.kill(child, signal.SIGCONT)
        deadline = time.monotonic() + 60
        while spooled(tmp_path):  # no more traffic: the recording process still gets every chunk
            assert time.monotonic() < deadline, proxy.output
            time.sleep(0.05)
        assert proxy.stop() == 0, proxy.output
    assert recorded(tmp_path) == 30
    assert "spooled exchanges in" not in proxy.output  # nothing was left for the stop


def test_after_sigkill_of_the_proxy_the_recording_process_records_the_spool_too(echo, tmp_path):
    with stopped_child(echo, tmp_path) as (proxy, child):
        send_big(proxy, 30)
        assert spooled(tmp_path)
        proxy.stop(signal.SIGKILL)
        os.kill(child, signal.SIGCONT)
        wait_until_dead(child)
    assert recorded(tmp_path) == 30
    assert not list(tmp_path.glob("pact-recorder-spool-*"))


def test_if_the_recording_process_dies_while_it_is_behind_the_exchanges_after_are_recorded_in_the_proxy(echo, tmp_path):
    with stopped_child(echo, tmp_path) as (proxy, child):
        send_big(proxy, 20)
        os.kill(child, signal.SIGKILL)
        wait_until_dead(child)
        for n in range(5):
            assert send(proxy.url, b'{"n": 1}', "application/json", None, path=f"/after/{n}")[0] == 200
        assert proxy.stop() == 1, proxy.output
    assert "the recording process is gone" in proxy.output and "the pact will lack it" in proxy.output
    assert "5 exchange(s) seen, 5 recorded" in proxy.output
    assert not list(tmp_path.glob("pact-recorder-spool-*"))


def test_when_the_spool_is_full_the_proxy_waits_for_the_recording_process_and_says_so_once(echo, tmp_path):
    with stopped_child(echo, tmp_path, "--spool", "1m") as (proxy, child), ThreadPoolExecutor(4) as pool:
        sent = [pool.submit(send, proxy.url, big(n), "application/json", None, f"/echo/{n}") for n in range(40)]
        with proxy._more:  # the proxy says it waits: only then let the recording process go on
            assert proxy._more.wait_for(lambda: "spool is full" in proxy.output, 30), proxy.output
        os.kill(child, signal.SIGCONT)
        assert [f.result()[0] for f in sent] == [200] * 40
        assert proxy.stop() == 0, proxy.output
    assert recorded(tmp_path) == 40
    assert proxy.output.count("spool is full") == 1


@pytest.mark.unit
def test_a_spool_chunk_reads_back_in_order_up_to_a_record_cut_short(tmp_path):
    key = new_key()
    spool = Spool(key, 1 << 20)
    try:
        for n in range(3):
            assert spool.append(f"message {n}".encode())
        path = spool.folder / spool.seal()
        with open(path, "ab") as f:
            f.write(b"\0\0\1\0partial")  # what a kill -9 in the middle of a write leaves
        assert list(read_chunk(path, key)) == [b"message 0", b"message 1", b"message 2"]
        assert b"message" not in path.read_bytes()
        assert not spool.append(b"x" * (1 << 20)), "past its bound the spool takes nothing"
    finally:
        spool.remove()
    assert not spool.folder.exists()
