"""A real chatty suite's wall time, straight against its provider and through `pact-recorder record`.

    python bench/suite_latency.py [ROUNDS]      (not in make bench: it installs etcd and a venv, ~2 min once)

python-etcd's own integration tests (bench/thirdparty/etcd.py's pair: hundreds of small requests to etcd's v2
API, one at a time, as a client library's suite makes them) run ROUNDS times (default 3) each way, alternating:
  direct   a fresh etcd on the suite's fixed address 127.0.0.1:6001;
  record   a fresh etcd on a free port, `pact-recorder record` on 127.0.0.1:6001 in front of it.
Only the suite's run is timed (not the starting of etcd or the recorder, nor the writing of the pact). Prints each
run, the medians and the cost of recording against the target of issue 26 (<= +10% wall time).
"""

from __future__ import annotations

import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.thirdparty import etcd  # noqa: E402
from bench.thirdparty.common import finish_recording, free_port  # noqa: E402

TARGET = 0.10


def timed_suite(work: Path, recorded: bool) -> tuple[float, dict]:
    with ExitStack() as stack:
        if recorded:
            target = etcd.start_etcd(stack, work / "etcd", free_port(), advertise=f"http://127.0.0.1:{etcd.PORT}")
            recorder, log = etcd.start_recorder(stack, target, work)
        else:
            etcd.start_etcd(stack, work / "etcd", etcd.PORT)
        start = time.monotonic()
        outcome = etcd.run_suite(stack, work)
        seconds = time.monotonic() - start
        if recorded:
            finish_recording(recorder, log)
    return seconds, outcome


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    etcd.setup()
    times: dict[str, list[float]] = {"direct": [], "record": []}
    with TemporaryDirectory() as d:
        for r in range(rounds):
            for name in times:
                seconds, outcome = timed_suite(Path(d) / f"{name}-{r}", name == "record")
                times[name].append(seconds)
                print(f"round {r + 1}: {name:>6} {seconds:6.2f} s ({outcome['passed']}/{outcome['tests']} passed)")
    direct, record = statistics.median(times["direct"]), statistics.median(times["record"])
    cost = record / direct - 1
    print(f"median: direct {direct:.2f} s, through record {record:.2f} s: {cost:+.1%}")
    print(f"target record costs a chatty suite <= +{TARGET:.0%}: {cost:+.1%} {'met' if cost <= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
