"""Per-request latency: what a consumer's suite, talking one request at a time, pays for the proxy.

    python bench/latency.py            (make bench; installs nginx-light from Debian's packages if missing)

nginx (one worker) answers as a small JSON API would: `GET /items/N` a ~60 B document whose id and time
differ in every response (`$request_id`, `$msec`), `POST /items` (an upload of a ~4 KB JSON document, sent
with `Expect: 100-continue` as S3 and Azure clients send theirs) a ~60 B document. One client, one request at
a time (raw sockets: the client's own cost is the same for every configuration and drops out of "added"), N
requests per measurement, the configurations interleaved in each of ROUNDS rounds:
  keep-alive  GETs of other ids over one connection;
  new conn    a new connection per GET (`Connection: close`);
  upload      `Expect: 100-continue` POSTs of other bodies over one connection.
Configurations: direct (nginx), mitmdump (plain `mitmdump -q --mode reverse:...`), lean (our in-process
master without recording), record (`pact-recorder record`), replay (`pact-recorder replay` of a pact recorded
from the same traffic: it answers in the provider's place, so it is compared with nginx serving directly).
Prints the median and p99 ms per request and the median ms added to direct (median of the per-round
differences), against the targets of issue 26: record adds <= 0.5 ms per keep-alive request and <= 1.0 ms
with a new connection each time; replay costs no more than record.
LATENCY_REQUESTS (default 400), LATENCY_ROUNDS (5) and LATENCY_CONFIGS narrow a run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy import BIN, ensure_tools, stop, wait_for_port  # noqa: E402
from recorder.record.proxy import free_port  # noqa: E402

REQUESTS = int(os.environ.get("LATENCY_REQUESTS", "400"))
ROUNDS = int(os.environ.get("LATENCY_ROUNDS", "5"))
CONFIGS = os.environ.get("LATENCY_CONFIGS", "direct,mitmdump,lean,record,replay").split(",")
MODES = ("keep-alive", "new conn", "upload")
TARGETS = {"keep-alive": 0.5, "new conn": 1.0}  # ms that record may add to direct (issue 26)


def start_nginx(tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; default_type application/json; client_body_temp_path {tmp};
  proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; keepalive_requests 100000;
    location ~ ^/items/(\\d+)$ {{ return 200 '{{"id": $1, "request": "$request_id", "at": $msec}}\\n'; }}
    location = /items {{ client_max_body_size 1m;
      return 201 '{{"id": "$request_id", "at": $msec, "stored": true}}\\n'; }} }} }}""")
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)], stderr=subprocess.PIPE)
    wait_for_port(port, nginx)
    return nginx, port


# --- the client --------------------------------------------------------------------------------------------


class Connection:
    """One HTTP/1.1 connection, read by hand: Content-Length and chunked bodies, a 100 Continue first."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed before the response ended")
        self.buf += data

    def _until(self, marker: bytes) -> bytes:
        while (at := self.buf.find(marker)) < 0:
            self._fill()
        line, self.buf = self.buf[:at], self.buf[at + len(marker) :]
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self) -> tuple[int, bytes]:
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        if status == 100:
            return status, b""
        if "content-length" in headers:
            return status, self._exactly(int(headers["content-length"]))
        body = b""
        while size := int(self._until(b"\r\n").split(b";")[0], 16):
            body += self._exactly(size)
            self._until(b"\r\n")
        self._until(b"\r\n")
        return status, body

    def get(self, path: str, close: bool = False) -> int:
        connection = "Connection: close\r\n" if close else ""
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: api.test\r\nAccept: application/json\r\n{connection}\r\n".encode()
        )
        return self.response()[0]

    def upload(self, path: str, body: bytes) -> int:
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        status, _ = self.response()
        if status != 100:
            return status
        self.sock.sendall(body)
        return self.response()[0]


def document(n: int) -> bytes:
    """~4 KB of JSON that differs in every request."""
    rows = [
        {"line": k, "sku": f"SKU-{n:06d}-{k:03d}", "qty": (n + k) % 17, "note": "handle with care"} for k in range(52)
    ]
    return json.dumps({"order": n, "at": time.time(), "rows": rows}).encode()


def measure(port: int, mode: str, start: int) -> list[float]:
    """REQUESTS timings in ms; ids start at `start` so that no two measurements send the same requests."""
    times: list[float] = []
    conn = None if mode == "new conn" else Connection(port)
    try:
        for n in range(start, start + REQUESTS):
            body = document(n) if mode == "upload" else b""
            t = time.perf_counter()
            if mode == "new conn":
                one = Connection(port)
                try:
                    status = one.get(f"/items/{n}", close=True)
                finally:
                    one.close()
            elif mode == "upload":
                status = conn.upload("/items", body)
            else:
                status = conn.get(f"/items/{n}")
            times.append((time.perf_counter() - t) * 1000)
            if status not in (200, 201):
                raise RuntimeError(f"{mode} on port {port}: status {status}")
    finally:
        if conn is not None:
            conn.close()
    return times


# --- the configurations -------------------------------------------------------------------------------------


def record_args(upstream: str, port: int, tmp: Path, out: str) -> list[str]:
    return [
        str(BIN / "pact-recorder"),
        "record",
        "--consumer",
        "bench",
        "--provider",
        "nginx",
        "--target",
        upstream,
        "--listen",
        f"127.0.0.1:{port}",
        "--out",
        str(tmp / out),
        "--confdir",
        str(tmp / "conf"),
    ]


def recorded_pact(upstream: str, tmp: Path) -> Path:
    """A pact of this traffic for replay: a short recording of every mode's requests."""
    port = free_port()
    proc = subprocess.Popen(
        record_args(upstream, port, tmp, "for-replay"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, proc)
        for mode in MODES:
            measure(port, mode, 10**6)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    (pact,) = (tmp / "for-replay").glob("*.json")
    return pact


def start(name: str, upstream: str, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if name == "mitmdump":
        args = [
            str(BIN / "mitmdump"),
            "-q",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--mode",
            f"reverse:{upstream}",
            "--set",
            f"confdir={tmp}/conf",
        ]
    elif name == "lean":
        args = [sys.executable, str(ROOT / "bench" / "lean_proxy.py"), upstream, str(port)]
    elif name == "record":
        args = record_args(upstream, port, tmp, "record")
    else:
        args = [
            str(BIN / "pact-recorder"),
            "replay",
            "--listen",
            f"127.0.0.1:{port}",
            str(recorded_pact(upstream, tmp)),
        ]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(tmp)}
    )
    wait_for_port(port, proc)
    return proc, port


def main() -> None:
    ensure_tools()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nginx, nginx_port = start_nginx(tmp)
        upstream = f"http://127.0.0.1:{nginx_port}"
        started: list[subprocess.Popen] = []
        try:
            ports = {"direct": nginx_port} if "direct" in CONFIGS else {}
            for name in CONFIGS:
                if name != "direct":
                    proc, ports[name] = start(name, upstream, tmp)
                    started.append(proc)
            for port in ports.values():  # warm up: connections, imports, the first shapes settled
                for mode in MODES:
                    measure(port, mode, 0)
            results: dict[tuple[str, str], list[list[float]]] = {}
            for r in range(ROUNDS):
                for mode in MODES:
                    for k, (name, port) in enumerate(ports.items()):
                        start_id = (r * len(MODES) * len(ports) + k) * REQUESTS + 10_000
                        results.setdefault((mode, name), []).append(measure(port, mode, start_id))
        finally:
            for proc in started:
                stop(proc)
            nginx.terminate()
            nginx.wait()
    report(results)


def report(results: dict[tuple[str, str], list[list[float]]]) -> None:
    def added(mode: str, name: str) -> float:  # median over rounds of (median ms - direct's median ms)
        pairs = zip(results[(mode, name)], results[(mode, "direct")], strict=True)
        return statistics.median(statistics.median(a) - statistics.median(b) for a, b in pairs)

    print(f"{REQUESTS} requests per measurement, {ROUNDS} rounds; ms per request (median over all rounds)")
    print(f"{'mode':>10} {'config':>9} {'median':>8} {'p99':>8} {'added':>8}")
    for (mode, name), rounds in results.items():
        every = sorted(t for one in rounds for t in one)
        p99 = every[int(len(every) * 0.99)]
        extra = f"{added(mode, name):8.2f}" if (mode, "direct") in results else f"{'':>8}"
        print(f"{mode:>10} {name:>9} {statistics.median(every):8.2f} {p99:8.2f} {extra}")
    if not all((mode, "direct") in results for mode in MODES):
        return
    for mode, target in TARGETS.items():
        if (mode, "record") in results:
            ms = added(mode, "record")
            print(
                f"target record adds <= {target} ms per {mode} request: {ms:.2f} ms "
                f"{'met' if ms <= target else 'MISSED'}"
            )
    for mode in MODES:
        if (mode, "record") in results and (mode, "replay") in results:
            a, b = added(mode, "replay"), added(mode, "record")
            print(
                f"target replay costs no more than record ({mode}): {a:.2f} vs {b:.2f} ms "
                f"{'met' if a <= b else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
