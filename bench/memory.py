"""Peak memory over 10k and 100k exchanges of the same ~50 endpoints: of the recording pipeline, and of
`pact-recorder record` (the proxy and its recording process) under real traffic.

    python bench/memory.py [COUNTS...]      (default: 10000 100000)
    python bench/memory.py --suite [COUNTS...]  (default: 1000 10000): the pytest plugin's share

Pipeline: each count runs in a fresh process (peak RSS cannot go down within one): exchanges are
generated, fed to a Recording one by one (redaction, endpoint detection, shape merging, evidence) and the
pact is written at the end; then the same for the ~104 KB document of bench/proxy.py, with other ids and
timestamps in every response (the recording process's share of `record` under varying traffic). Record: a
fresh `record` per count in front of a small upstream, loaded with that many requests over 4 keep-alive
connections, for each of the two kinds of traffic; its peak is the sum of both processes' high-water marks.
Suite: a pytest suite of that many requests recorded through the pytest plugin (proxy and recording in the
pytest process). Memory should grow with the number of interactions, not with the traffic.
"""

from __future__ import annotations

import http.client
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENDPOINTS = 50
RESOURCES = [f"res{chr(97 + e // 26)}{chr(97 + e % 26)}" for e in range(ENDPOINTS)]  # resaa, resab, ...


def exchanges(n: int):
    from recorder.model import Exchange

    for i in range(n):
        e = i % ENDPOINTS
        body = {
            "id": i,
            "name": f"item {i}",
            "price": i / 100,
            "tags": ["a", "b"][: i % 3],
            "owner": {"id": i % 97, "email": f"u{i % 97}@example.com"},
            "at": "2024-05-01T10:00:00Z",
        }
        yield Exchange(
            method="GET",
            path=f"/api/v1/{RESOURCES[e]}/{i}",
            query=(("page", str(i % 7)),),
            request_headers=(("Accept", "application/json"), ("Authorization", f"Bearer tok{i}")),
            request_body=b"",
            status=200,
            response_headers=(("Content-Type", "application/json"),),
            response_body=json.dumps(body).encode(),
        )


@cache
def _template() -> str:
    from bench.proxy import ITEMS, document

    return document(ITEMS["100k"])


def varying_exchanges(n: int, start: int = 0):
    """The ~104 KB document of bench/proxy.py, its ids and timestamps other in every response."""
    from recorder.model import Exchange

    template = _template()
    for i in range(start, start + n):
        body = template.replace("@RID@", f"{i * 7919:032x}").replace("@MSEC@", f"{1_700_000_000 + i * 0.013:.3f}")
        yield Exchange("GET", "/100k.json", (), (("Accept", "*/*"),), b"", 200,
                       (("Content-Type", "application/json"),), body.encode())  # fmt: skip


def child(n: int, varying: bool = False) -> None:
    import gc

    from recorder.record.pipeline import Recording, Settings
    from recorder.record.worker import GC_THRESHOLDS

    gc.set_threshold(*GC_THRESHOLDS)  # as in the recording process
    with tempfile.TemporaryDirectory() as out:
        recording = Recording(Settings("bench", "api", Path(out)))
        start = time.perf_counter()
        for ex in (varying_exchanges if varying else exchanges)(n):
            recording.add(ex)
        recording.write()
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "exchanges": n,
                "interactions": len(recording.observations),
                "peak_rss_mb": round(peak_mb, 1),
                "seconds": round(seconds, 2),
            }
        )
    )


class Upstream(BaseHTTPRequestHandler):
    """Answers every GET with the body `exchanges` would have for that path."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls

    def log_message(self, *args):
        pass

    def do_GET(self):
        i = int(self.path.split("?")[0].rsplit("/", 1)[1])
        if self.path.startswith("/varying/"):  # the ~104 KB document, its ids and timestamps other each time
            body = next(varying_exchanges(1, start=i)).response_body
        else:
            body = json.dumps({"id": i, "name": f"item {i}", "price": i / 100, "tags": ["a", "b"][: i % 3],
                           "owner": {"id": i % 97, "email": f"u{i % 97}@example.com"},
                               "at": "2024-05-01T10:00:00Z"}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def tree_mb(pid: int, field: str = "VmRSS") -> float:
    """A /proc memory figure (VmRSS now, VmHWM the peak) summed over a process and its children: the
    proxy or infer and their recording process."""
    total, pids = 0, [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            pids += Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue  # ended meanwhile
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith(f"{field}:")), 0)
    return total / 1024


def start_upstream() -> tuple[subprocess.Popen, int]:
    """The upstream in its own process (so its memory is not counted); its port once it answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    port = server.server_address[1]
    upstream = subprocess.Popen([sys.executable, __file__, "--upstream", str(port)])
    server.server_close()  # the port is the upstream process's now: wait until it answers there
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return upstream, port
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the upstream did not start") from None
            time.sleep(0.05)


def record_peak(n: int, varying: bool = False) -> dict:
    from examples import procs

    upstream, upstream_port = start_upstream()
    with tempfile.TemporaryDirectory() as out:
        proxy = procs.start([str(Path(sys.executable).parent / "pact-recorder"), "record", "--consumer", "bench",
                             "--provider", "api", "--target", f"http://127.0.0.1:{upstream_port}",
                             "--listen", "127.0.0.1:0", "--out", out, "--confdir", f"{out}/conf"])  # fmt: skip
        port = int(proxy.url.rsplit(":", 1)[1])
        start = time.perf_counter()

        def load(worker: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in range(worker, n, 4):
                path = f"/varying/{i}" if varying else f"/api/v1/{RESOURCES[i % ENDPOINTS]}/{i}?page={i % 7}"
                conn.request("GET", path,
                             headers={"Accept": "application/json", "Authorization": f"Bearer tok{i}"})  # fmt: skip
                conn.getresponse().read()
            conn.close()

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(load, range(4)))
        seconds = time.perf_counter() - start
        peak = tree_mb(proxy.proc.pid, "VmHWM")
        proxy.stop()
    upstream.terminate()
    upstream.wait()
    return {"exchanges": n, "peak_rss_mb": round(peak, 1), "seconds": round(seconds, 2)}


SUITE = """
import http.client, os
from urllib.parse import urlsplit

import pytest

N, PER, VARYING = int(os.environ["BENCH_N"]), 100, os.environ["BENCH_VARYING"] == "1"
RESOURCES = {resources!r}


@pytest.mark.parametrize("chunk", range(N // PER))
def test_chunk(chunk):
    url = urlsplit(os.environ["PACT_RECORDER_URL_API"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in range(chunk * PER, (chunk + 1) * PER):
        path = f"/varying/{{i}}" if VARYING else f"/api/v1/{{RESOURCES[i % len(RESOURCES)]}}/{{i}}?page={{i % 7}}"
        conn.request("GET", path, headers={{"Accept": "application/json", "Authorization": f"Bearer tok{{i}}"}})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    conn.close()
"""

RUN_SUITE = (
    "import resource, sys, pytest; rc = pytest.main(sys.argv[1:]); "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
)


def suite_peak(n: int, varying: bool = False) -> dict:
    """A pytest suite of n requests (100 per test) recorded through the pytest plugin: the peak RSS of the
    pytest process, which runs the proxy and the recording in-process."""
    import os

    upstream, upstream_port = start_upstream()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "test_load.py").write_text(SUITE.format(resources=RESOURCES))
            env = {**os.environ, "BENCH_N": str(n), "BENCH_VARYING": "1" if varying else "0"}
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", RUN_SUITE, "-q", "-p", "no:cacheprovider", "--pact-record",
                 "--pact-consumer", "bench", "--pact-target", f"api=http://127.0.0.1:{upstream_port}",
                 "--pact-out", f"{tmp}/pacts", "--pact-confdir", f"{tmp}/conf", tmp],
                capture_output=True, text=True, env=env, cwd=tmp,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            if out.returncode != 0:
                raise RuntimeError(f"the suite failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
            peak_kb = int(out.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    finally:
        upstream.terminate()
        upstream.wait()
    return {"exchanges": n, "peak_rss_mb": round(peak_kb / 1024, 1), "seconds": round(seconds, 2)}


def peaks(name: str, what: str, column: str, measure, counts: list[int]) -> None:
    """Measure each count with `measure(n)` and print the peaks, and the ratio of the last to the first."""
    rows = [measure(n) for n in counts]
    print(f"{name}, {what}:")
    print(f"{'exchanges':>10} {column:>50} {'req/s':>8}")
    for r in rows:
        print(f"{r['exchanges']:>10} {r['peak_rss_mb']:>50} {r['exchanges'] / r['seconds']:>8.0f}")
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(
            f"{name} peak RSS ({what}) at {rows[-1]['exchanges']} / at {rows[0]['exchanges']}: {ratio:.2f} "
            f"(target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'})"
        )


def suites(counts: list[int]) -> None:
    for varying in (False, True):
        what = "varying ~104 KB documents" if varying else f"~{ENDPOINTS} endpoints"
        column = "pytest peak RSS MB (proxy + recording in-process)"
        peaks("pytest plugin", what, column, lambda n, v=varying: suite_peak(n, v), counts)


def pipeline(counts: list[int], varying: bool) -> None:
    rows = []
    for n in counts:
        args = [sys.executable, __file__, "--child", str(n), *(["--varying"] if varying else [])]
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    what = "varying ~104 KB documents" if varying else f"~{ENDPOINTS} endpoints"
    print(f"pipeline, {what}:")
    print(f"{'exchanges':>10} {'interactions':>12} {'peak RSS MB':>12} {'seconds':>8} {'exch/s':>8}")
    for r in rows:
        print(
            f"{r['exchanges']:>10} {r['interactions']:>12} {r['peak_rss_mb']:>12} {r['seconds']:>8} "
            f"{r['exchanges'] / r['seconds']:>8.0f}"
        )
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(
            f"pipeline peak RSS ({what}) at {rows[-1]['exchanges']} / at {rows[0]['exchanges']}: {ratio:.2f} "
            f"(target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'})"
        )


def main(counts: list[int]) -> None:
    pipeline(counts, varying=False)
    pipeline(counts, varying=True)
    for varying in (False, True):
        what = "varying ~104 KB documents" if varying else f"~{ENDPOINTS} endpoints"
        column = "record peak RSS MB (proxy + recording process)"
        peaks("record", what, column, lambda n, v=varying: record_peak(n, v), counts)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), varying="--varying" in sys.argv[3:])
    elif sys.argv[1:2] == ["--suite"]:  # the pytest plugin's share only
        suites([int(a) for a in sys.argv[2:]] or [1_000, 10_000])
    elif sys.argv[1:2] == ["--upstream"]:
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Upstream).serve_forever()
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
