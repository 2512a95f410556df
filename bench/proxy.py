"""Proxy throughput and latency: the recorder against the proxy it is built on, in the same run.

    python bench/proxy.py            (make bench; installs nginx-light and wrk from Debian's packages if missing)

nginx (one worker, static files) serves a ~300-byte and a ~100 KB JSON document on 127.0.0.1; wrk loads
each configuration with 1 and 10 keep-alive connections for DURATION seconds, ROUNDS rounds (median;
the targets use the median of the ratios within each round):
  direct   nginx itself;                  mitmdump  plain `mitmdump -q --mode reverse:...` (no addon);
  lean     our in-process master, no recording;   record  `pact-recorder record` (inference on);
  addon    `mitmdump -q -s addons/pact_recorder.py`.
Targets (printed met / MISSED): record >= 1.5x mitmdump's throughput (small JSON, 10 connections);
inference costs <= 10% of throughput against lean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.proxy import free_port  # noqa: E402

BIN = Path(sys.executable).parent
DURATION = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("wrk", "wrk")) if not shutil.which(tool)
               and not Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        print(f"installing {', '.join(missing)} from Debian's packages", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def start_nginx(tmp: Path) -> tuple[subprocess.Popen, str]:
    www = tmp / "www"
    www.mkdir()
    item = {"id": 101, "name": "Ada Lovelace", "email": "ada@example.com", "active": True,
            "roles": ["admin", "author"], "created_at": "2024-05-01T10:00:00Z", "score": 12.5,
            "address": {"city": "London", "zip": "N1 9GU"}, "tags": ["math", "engine"]}
    (www / "small.json").write_text(json.dumps(item))
    (www / "big.json").write_text(json.dumps({"items": [dict(item, id=i) for i in range(400)]}))
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; types {{ application/json json; }} default_type application/json;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {www}; }} }}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import time
    import urllib.request

    for _ in range(100):  # nginx prints nothing when ready: wait until it answers
        try:
            urllib.request.urlopen(f"{url}/small.json", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def wrk(url: str, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{DURATION}s", "--latency", url],
                         capture_output=True, text=True, timeout=DURATION + 60).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": ms("50"), "p99": ms("99")}


def configurations(upstream: str, tmp: Path) -> dict[str, tuple[int, list[str]]]:
    """name -> (port, command); direct has no command."""
    ports = {name: free_port() for name in ("mitmdump", "lean", "record", "addon")}
    mitmdump = [str(BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1", "--mode", f"reverse:{upstream}",
                "--set", f"confdir={tmp}/conf"]
    return {
        "direct": (int(upstream.rsplit(":", 1)[1]), []),
        "mitmdump": (ports["mitmdump"], [*mitmdump, "--listen-port", str(ports["mitmdump"])]),
        "lean": (ports["lean"], [sys.executable, str(ROOT / "bench" / "lean_proxy.py"), upstream,
                                 str(ports["lean"])]),
        "record": (ports["record"], [str(BIN / "pact-recorder"), "record", "--consumer", "bench", "--provider",
                                     "nginx", "--target", upstream, "--listen", f"127.0.0.1:{ports['record']}",
                                     "--out", str(tmp / "record"), "--confdir", str(tmp / "conf")]),
        "addon": (ports["addon"], [*mitmdump, "--listen-port", str(ports["addon"]), "-s",
                                   str(ROOT / "addons" / "pact_recorder.py"), "--set", "pact_consumer=bench",
                                   "--set", "pact_provider=nginx", "--set", f"pact_out={tmp}/addon"]),
    }


def wait_for_port(port: int, proc: subprocess.Popen) -> None:
    import socket
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.args[:3]} did not start listening on {port}")


def main() -> None:
    ensure_tools()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nginx, upstream = start_nginx(tmp)
        running: dict[str, int] = {}
        started: list[subprocess.Popen] = []
        try:
            for name, (port, args) in configurations(upstream, tmp).items():
                if args:
                    started.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                    wait_for_port(port, started[-1])
                running[name] = port
            results: dict[tuple, list[dict]] = {}
            for _ in range(ROUNDS):  # configurations interleaved in each round, to spread the machine's noise
                for doc in ("small", "big"):
                    for conns in (1, 10):
                        for name, port in running.items():
                            url = f"http://127.0.0.1:{port}/{doc}.json"
                            results.setdefault((doc, conns, name), []).append(wrk(url, conns))
        finally:
            for proc in started:
                proc.terminate()
                proc.wait(30)
            nginx.terminate()
            nginx.wait()
    report(results)


def report(results: dict) -> None:
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p99")} for k, v in results.items()}
    print(f"{'body':>6} {'conns':>5} {'config':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs mitmdump':>11}")
    for (doc, conns, name), r in med.items():
        ref = med[(doc, conns, "mitmdump")]["rps"]
        print(f"{doc:>6} {conns:>5} {name:>9} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
              f"{r['rps'] / ref:>11.2f}")
    # Targets from the ratio within each round (the two configurations ran seconds apart), median over
    # rounds: the machine's drift between rounds cancels out.
    def ratio(name: str, ref: str) -> float:
        pairs = zip(results[("small", 10, name)], results[("small", 10, ref)], strict=True)
        return statistics.median(a["rps"] / b["rps"] for a, b in pairs)

    vs_mitm, vs_lean = ratio("record", "mitmdump"), ratio("record", "lean")
    print(f"target record >= 1.5x plain mitmdump (small, 10 connections; median of per-round ratios): "
          f"{vs_mitm:.2f}x {'met' if vs_mitm >= 1.5 else 'MISSED'}")
    cost = 1 - vs_lean
    print(f"target inference costs <= 10% of throughput vs our master without recording (median of per-round "
          f"ratios): {cost:.0%} {'met' if cost <= 0.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
