"""`pact-recorder prune` on a pact of 50 interactions: how many suite runs and how long.

    python bench/prune.py [INTERACTIONS]      (default 50)

The pact: GET /things{k}/{id} for k < INTERACTIONS, each answering an object of 8 fields (one nested);
the consumer reads `id` and `name` of every thing, and `owner.login` of every fifth. prune must leave out
the other fields and keep those. Twice: the consumer as a pytest suite of one test per thing (prune's
probe tells the tests apart, so a failing run implicates only the things its failing tests read), then as
one plain script that stops at its first failed check (no tests to tell apart). The figures are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("pact-recorder"))
FIELDS = {"id": 1, "name": "a thing", "colour": "red", "size": 3, "tags": ["x"], "active": True, "note": "n"}


def pact(count: int) -> dict:
    def interaction(k: int) -> dict:
        body = {**FIELDS, "id": k, "owner": {"login": f"user{k}", "email": f"u{k}@example.com"}}
        rules = {f"$.{name}": {"combine": "AND", "matchers": [{"match": "type"}]} for name in body}
        return {
            "type": "Synchronous/HTTP",
            "description": f"GET /things{k}/{{id}} returns 200",
            "request": {"method": "GET", "path": f"/things{k}/{k}"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": ["application/json"]},
                "body": {"content": body, "contentType": "application/json", "encoded": False},
                "matchingRules": {"body": rules},
            },
        }

    return {
        "consumer": {"name": "bench-consumer"},
        "provider": {"name": "bench-provider"},
        "interactions": [interaction(k) for k in range(count)],
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }


def consumer(count: int) -> None:
    """The plain script: every thing read in turn, stopping at the first check that fails."""
    for k in range(count):
        check(k)


def check(k: int) -> None:
    base = os.environ["PACT_RECORDER_URL_BENCH_PROVIDER"]
    thing = json.load(urllib.request.urlopen(f"{base}/things{k}/{k}", timeout=10))
    assert thing["id"] == k and thing["name"]
    if k % 5 == 0:
        assert thing["owner"]["login"] == f"user{k}"


SUITE = """
import sys
import pytest
sys.path.insert(0, {bench!r})
from prune import check

@pytest.mark.parametrize("k", range({count}))
def test_a_thing(k):
    check(k)
"""


def run(count: int, tmp: Path, command: list[str]) -> tuple[str, float, list[str]]:
    path = tmp / "bench-consumer-bench-provider.json"
    path.write_text(json.dumps(pact(count), indent=2))
    started = time.monotonic()
    result = subprocess.run([CLI, "prune", str(path), "--", *command], capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    left = json.loads(path.read_text())["interactions"]
    return result.stdout.splitlines()[0], seconds, sorted({k for i in left for k in i["response"]["body"]["content"]})


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "test_things.py").write_text(SUITE.format(bench=str(Path(__file__).parent), count=count))
        suites = (
            ("a pytest suite, one test per thing", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                                   str(tmp / "test_things.py")]),
            ("a plain script", [sys.executable, __file__, "--consumer", str(count)]),
        )  # fmt: skip
        for name, command in suites:
            summary, seconds, kept = run(count, tmp, command)
            print(f"prune, {count} interactions x {len(FIELDS) + 1} fields, {name}: {summary}")
            print(f"  wall time {seconds:.1f}s (with the core's mock servers starting); fields left: {', '.join(kept)}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--consumer"]:
        consumer(int(sys.argv[2]))
    else:
        sys.exit(main())
