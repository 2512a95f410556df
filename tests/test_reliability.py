"""Never break the traffic, never lose a recording."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples import procs
from examples.jsonserver import JsonHandler, serving
from recorder.pact.core_parser import parse
from tests.conftest import PACT_NAME, recorder_args


class Echo(JsonHandler):
    """Answers with the request body, under the content type and encoding the client asks for."""

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.send_response(int(self.headers.get("X-Status", "200")))
        self.send_header("Content-Type", self.headers.get("X-Type", "application/octet-stream"))
        if enc := self.headers.get("X-Encoding"):
            self.send_header("Content-Encoding", enc)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_json(200, {"n": int(self.path.rsplit("/", 1)[1]), "ok": True})


@pytest.fixture(scope="module")
def echo():
    with serving(Echo) as url:
        yield url


@pytest.fixture(scope="module")
def recorder(echo, tmp_path_factory):
    proxy = procs.start(recorder_args(echo, tmp_path_factory.mktemp("fuzz")))
    yield proxy
    assert proxy.stop() == 0, proxy.output


def send(url: str, body: bytes, ctype: str, encoding: str | None, path: str = "/echo") -> tuple[int, bytes, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"X-Type": ctype, "Content-Type": ctype}
    if encoding:
        headers["X-Encoding"] = encoding
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.read(), dict(resp.getheaders())
    conn.close()
    return out


json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    json_docs.map(lambda d: (json.dumps(d).encode(), "application/json")),
    st.binary(max_size=2048).map(lambda b: (b, "application/octet-stream")),
    st.binary(max_size=256).map(lambda b: (b, "application/json")),  # claims JSON, is not
    st.text(max_size=200).map(lambda t: (t.encode(), "text/plain; charset=utf-8")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, compress=st.sampled_from([None, "gzip", "bogus-gzip"]))
def test_every_response_reaches_the_client_byte_identical(recorder, body, compress):
    payload, ctype = body
    encoding = None
    if compress == "gzip":
        payload, encoding = gzip.compress(payload), "gzip"
    elif compress == "bogus-gzip":
        encoding = "gzip"  # claims gzip, is not: passed through as it is
    status, received, _ = send(recorder.url, payload, ctype, encoding)
    assert (status, received) == (200, payload)
    assert recorder.proc.poll() is None  # still serving


def test_a_header_name_in_utf8_reaches_the_provider_as_it_would_directly(recorder):
    # (object stores take metadata names as the user wrote them; mitmproxy's own check answered 400)
    parts = urlsplit(recorder.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("POST", "/echo")
    conn.putheader("Content-Length", "2")
    conn.putheader("x-object-meta-\N{THUMBS UP SIGN}".encode(), b"yes")
    conn.endheaders(b"ok")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"ok")
    conn.close()


def test_sigterm_under_load_keeps_every_exchange_the_client_saw(echo, tmp_path):
    proxy = procs.start(recorder_args(echo, tmp_path))
    done, stop, flowing = [], threading.Event(), threading.Event()

    def client(worker: int) -> None:
        parts = urlsplit(proxy.url)
        for i in range(400):  # bounded
            if stop.is_set():
                return
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", f"/items/{worker * 1000 + i}")
                if conn.getresponse().status == 200:
                    done.append(1)
                    if len(done) >= 100:
                        flowing.set()
                conn.close()
            except OSError:
                return  # the proxy went away: this request was not seen completed

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client, w) for w in range(4)]
        assert flowing.wait(60), proxy.output  # traffic is flowing: stop the recorder mid-load
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output
        stop.set()
        for f in futures:
            f.result()
    pact = json.loads((tmp_path / PACT_NAME).read_text())
    recorded = sum(i["comments"]["pactRecorder"]["exchanges"] for i in pact["interactions"])
    assert recorded >= len(done) > 0


def test_after_sigkill_the_last_flushed_pact_is_complete_and_valid(echo, tmp_path):
    proxy = procs.start(recorder_args(echo, tmp_path, "--flush-interval", "1"))
    pact = tmp_path / PACT_NAME
    try:
        deadline = time.monotonic() + 30
        n = 0
        while not pact.exists():  # traffic until the first periodic write has happened
            send(proxy.url, json.dumps({"n": n}).encode(), "application/json", None, path=f"/echo/{n}")
            n += 1
            assert time.monotonic() < deadline, proxy.output
        for _ in range(20):
            send(proxy.url, b'{"more": true}', "application/json", None)
    finally:
        proxy.stop(signal.SIGKILL)
    view = parse(pact.read_text())  # complete JSON that the Pact core accepts
    assert view.spec == "V4" and view.interactions >= 1


def recording_process(proxy: procs.Process) -> int:
    """The pid of the proxy's recording process (its only child)."""
    (child,) = Path(f"/proc/{proxy.proc.pid}/task/{proxy.proc.pid}/children").read_text().split()
    return int(child)


def wait_until_dead(pid: int, timeout: float = 60) -> None:
    """Until the process has exited (gone, or a zombie not yet reaped by its parent)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
        assert time.monotonic() < deadline, f"process {pid} did not end"
        time.sleep(0.01)


def test_after_sigkill_of_the_proxy_its_recording_process_still_writes_everything_it_was_sent(echo, tmp_path):
    """The proxy only captures; a child process infers. kill -9 of the proxy closes their pipe, and the
    child writes what it had: every exchange the client saw completed."""
    proxy = procs.start(recorder_args(echo, tmp_path))
    child = recording_process(proxy)
    for n in range(30):
        assert send(proxy.url, json.dumps({"n": n}).encode(), "application/json", None, path=f"/echo/{n}")[0] == 200
    proxy.stop(signal.SIGKILL)
    wait_until_dead(child)
    pact = json.loads((tmp_path / PACT_NAME).read_text())
    assert sum(i["comments"]["pactRecorder"]["exchanges"] for i in pact["interactions"]) == 30
    proxy._reader.join(30)  # the child shares the proxy's output, and says what it wrote
    assert "30 exchange(s) seen, 30 recorded" in proxy.output and "Traceback" not in proxy.output


def test_if_the_recording_process_dies_traffic_goes_on_and_the_run_fails_loudly(echo, tmp_path):
    proxy = procs.start(recorder_args(echo, tmp_path))
    child = recording_process(proxy)
    os.kill(child, signal.SIGKILL)
    wait_until_dead(child)
    try:
        for n in range(5):  # the first send after the death finds the pipe broken
            assert send(proxy.url, b'{"n": 1}', "application/json", None, path=f"/echo/{n}")[:2] == (200, b'{"n": 1}')
    finally:
        code = proxy.stop()
    assert code == 1, proxy.output
    assert "the recording process is gone" in proxy.output and "the pact will lack it" in proxy.output
    assert "5 exchange(s) seen, 5 recorded" in proxy.output  # recorded in the proxy from then on


def test_a_provider_that_is_down_closes_the_consumer_s_connection_as_it_would_and_is_counted(tmp_path):
    # A client's "server down" handling expects a connection that fails, not a 502 page from a proxy.
    closed = "http://127.0.0.1:9"  # discard port: nothing listens there
    proxy = procs.start(recorder_args(closed, tmp_path))
    try:
        with pytest.raises(http.client.RemoteDisconnected):
            send(proxy.url, b"{}", "application/json", None)
    finally:
        code = proxy.stop()
    assert code == 1, proxy.output  # no pact was written: as `infer` of a capture with nothing to record
    assert "skipped 1: no response from the provider" in proxy.output
    assert (
        "Nothing was recorded, so no pact was written: the provider never answered (is --target right, and is "
        "the provider running?)"
    ) in proxy.output
