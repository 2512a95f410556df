"""Proxy throughput and latency: the recorder against the proxy it is built on, in the same run.

    python bench/proxy.py            (make bench; installs nginx-light and wrk from Debian's packages if missing)

nginx (one worker) serves JSON documents of nested objects on 127.0.0.1, ~1 KB, ~50 KB and ~100 KB, that
differ in every response, as real traffic does (ids, timestamps): `sub_filter` writes $msec and
$request_id into them; `100k-same` is the ~100 KB one as a static file, identical in every response.
wrk loads each configuration with 1 and 10 keep-alive connections for DURATION seconds, ROUNDS rounds
(median; the targets use the median of the ratios within each round):
  direct   nginx itself;                  mitmdump  plain `mitmdump -q --mode reverse:...` (no addon);
  lean     our in-process master, no recording;   record  `pact-recorder record` (inference on);
  addon    `mitmdump -q -s addons/pact_recorder.py`.
Each measurement starts with the recorders caught up (their spools empty); what a backlog costs is what
the burst measures: `record` alone under BURST seconds of the ~100 KB varying document (10 connections), then
SIGTERM: how long the recording took to catch up (drain) after the burst, and the peak RSS of both
processes.
Targets (printed met / MISSED, issue 16): record >= 1.5x mitmdump's throughput on 1 KB bodies and
>= 1.0x on 50 KB and 100 KB varying bodies (10 connections); the drain after the burst <= the burst.
BENCH_CONFIGS (comma-separated), BENCH_CONNS, BENCH_DOCS and BENCH_BURST (0: none) narrow a run.
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

from recorder.record.proxy import free_port  # noqa: E402

BIN = Path(sys.executable).parent
DURATION = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
BURST = int(os.environ.get("BENCH_BURST", "30"))
DOCS = os.environ.get("BENCH_DOCS", "1k,50k,100k,100k-same").split(",")
CONNS = [int(c) for c in os.environ.get("BENCH_CONNS", "1,10").split(",")]
CONFIGS = os.environ.get("BENCH_CONFIGS", "direct,mitmdump,lean,record,addon").split(",")
TARGETS = {"1k": 1.5, "50k": 1.0, "100k": 1.0}  # record / plain mitmdump, 10 connections (issue 16)


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("wrk", "wrk")) if not shutil.which(tool)
               and not Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        print(f"installing {', '.join(missing)} from Debian's packages", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


ITEMS = {"50k": 50, "100k": 100}  # objects per document: ~52 KB and ~104 KB as served


def document(items: int) -> str:
    return json.dumps({"items": [item(k) for k in range(items)], "at": "@MSEC@"})


def item(k: int) -> dict:
    """One nested object (~1 KB as served); @MSEC@ and @RID@ become nginx's $msec and $request_id."""
    return {"id": k, "request_id": "@RID@", "name": f"Ada Lovelace {k}", "email": f"ada{k}@example.com",
            "active": k % 2 == 0, "score": 12.5 + k, "roles": ["admin", "author"], "served_at": "@MSEC@",
            "created_at": "2024-05-01T10:00:00Z", "tags": ["math", "engine", f"t{k % 7}"],
            "address": {"city": "London", "zip": "N1 9GU", "geo": {"lat": 51.5, "lng": -0.12}},
            "owner": {"id": k % 13, "login": f"ada{k % 13}", "trace": "@RID@",
                      "profile": {"url": f"https://example.com/u/{k}", "bio": "Analyst, metaphysician. " * 3,
                                  "stats": {"followers": 1200 + k, "following": 12, "updated_at": "@MSEC@"}}},
            "links": [{"rel": "self", "href": f"/items/{k}"}, {"rel": "next", "href": f"/items/{k + 1}"}],
            "description": "Notes on the Analytical Engine, with the first published algorithm. " * 4}


def start_nginx(tmp: Path) -> tuple[subprocess.Popen, str]:
    www = tmp / "www"
    www.mkdir()
    (www / "1k.json").write_text(json.dumps(item(1)))
    for name, n in ITEMS.items():
        (www / f"{name}.json").write_text(document(n))
    same = (www / "100k.json").read_text().replace("@RID@", "0" * 32).replace("@MSEC@", "1700000000.000")
    (www / "100k-same.json").write_text(same)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; types {{ application/json json; }} default_type application/json;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {www};
    location ~ /(1k|50k|100k)\\.json$ {{ sub_filter_types application/json; sub_filter_once off;
      sub_filter '@MSEC@' '$msec'; sub_filter '@RID@' '$request_id'; }} }} }}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import time
    import urllib.request

    for _ in range(100):  # nginx prints nothing when ready: wait until it answers
        try:
            urllib.request.urlopen(f"{url}/1k.json", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def wrk(url: str, connections: int) -> dict:
    return parse_wrk(subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{DURATION}s", "--latency", url],
                                    capture_output=True, text=True, timeout=DURATION + 60).stdout)


def parse_wrk(out: str) -> dict:
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
                if name not in CONFIGS:
                    continue
                if args:
                    started.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                    env={**os.environ, "TMPDIR": str(tmp)}))  # its spool: here
                    wait_for_port(port, started[-1])
                running[name] = port
            results: dict[tuple, list[dict]] = {}
            for _ in range(ROUNDS):  # configurations interleaved in each round, to spread the machine's noise
                for doc in DOCS:
                    for conns in CONNS:
                        for name, port in running.items():
                            url = f"http://127.0.0.1:{port}/{doc}.json"
                            caught_up(tmp)
                            results.setdefault((doc, conns, name), []).append(wrk(url, conns))
        finally:
            for proc in started:  # record catches up on its spool at stop: that may take a while
                stop(proc)
        try:
            burst_result = burst(upstream, tmp) if BURST else None
        finally:
            nginx.terminate()
            nginx.wait()
    report(results)
    if burst_result is not None:
        report_burst(*burst_result)


def caught_up(tmp: Path, timeout: float = 900) -> None:
    """Until the recorders have recorded what waits in their spools (under tmp): each configuration is
    measured with its recorder caught up; what a backlog costs is the burst's drain."""
    import time

    deadline = time.monotonic() + timeout
    while list(tmp.glob("pact-recorder-spool-*/*.spool")) and time.monotonic() < deadline:
        time.sleep(0.2)


def burst(upstream: str, tmp: Path) -> tuple[dict, float, float]:
    """wrk on a fresh `record` for BURST seconds of the ~100 KB varying document, then SIGTERM: (wrk's
    figures, seconds from the end of the burst until record exited, peak MB of both processes)."""
    import signal
    import time

    from bench.memory import tree_mb

    (tmp / "burst").mkdir()
    port, args = configurations(upstream, tmp / "burst")["record"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        load = subprocess.Popen(["wrk", "-t1", "-c10", f"-d{BURST}s", "--latency", f"http://127.0.0.1:{port}/100k.json"],
                                stdout=subprocess.PIPE, text=True)
        peak = 0.0
        while load.poll() is None:  # sampled, as bench/memory.py does: VmHWM of a child is not kept
            peak = max(peak, tree_mb(proc.pid))
            time.sleep(0.05)
        figures = parse_wrk(load.stdout.read())
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while proc.poll() is None:
            peak = max(peak, tree_mb(proc.pid))
            time.sleep(0.05)
        return figures, time.monotonic() - stopped, peak
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 900) -> None:
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def report(results: dict) -> None:
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p99")} for k, v in results.items()}
    print(f"{'body':>9} {'conns':>5} {'config':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs mitmdump':>11}")
    for (doc, conns, name), r in med.items():
        ref = med.get((doc, conns, "mitmdump"), {}).get("rps", float("nan"))
        print(f"{doc:>9} {conns:>5} {name:>9} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
              f"{r['rps'] / ref:>11.2f}")

    # Targets from the ratio within each round (the two configurations ran seconds apart), median over
    # rounds: the machine's drift between rounds cancels out.
    def ratio(doc: str, name: str, ref: str) -> float:
        pairs = zip(results[(doc, 10, name)], results[(doc, 10, ref)], strict=True)
        return statistics.median(a["rps"] / b["rps"] for a, b in pairs)

    for doc, target in TARGETS.items():
        if (doc, 10, "record") in results and (doc, 10, "mitmdump") in results:
            r = ratio(doc, "record", "mitmdump")
            print(f"target record >= {target}x plain mitmdump ({doc} varying JSON, 10 connections; median of "
                  f"per-round ratios): {r:.2f}x {'met' if r >= target else 'MISSED'}")
    if ("1k", 10, "record") in results and ("1k", 10, "lean") in results:
        cost = 1 - ratio("1k", "record", "lean")
        print(f"inference's cost vs our master without recording (1k, 10 connections; median of per-round "
              f"ratios): {cost:.0%}")


def report_burst(figures: dict, drain: float, peak: float) -> None:
    print(f"burst: record, 100k varying JSON, 10 connections, {BURST} s: {figures['rps']:.0f} req/s "
          f"(p99 {figures['p99']:.1f} ms); drain after SIGTERM {drain:.1f} s; peak RSS {peak:.1f} MB")
    print(f"target drain <= the burst ({BURST} s): {drain:.1f} s {'met' if drain <= BURST else 'MISSED'}")


if __name__ == "__main__":
    main()
