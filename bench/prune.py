"""`pact-recorder prune` on a pact of 50 interactions: how many suite runs and how long.

    python bench/prune.py [INTERACTIONS]      (default 50)

The pact: GET /things{k}/{id} for k < INTERACTIONS, each answering an object of 8 fields (one nested);
the consumer's suite (this file with --consumer) reads `id` and `name` of every thing, and `owner.login`
of every fifth. prune must leave out the other fields and keep those; the figures are printed.
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
    base = os.environ["PACT_RECORDER_URL_BENCH_PROVIDER"]
    for k in range(count):
        thing = json.load(urllib.request.urlopen(f"{base}/things{k}/{k}", timeout=10))
        assert thing["id"] == k and thing["name"]
        if k % 5 == 0:
            assert thing["owner"]["login"] == f"user{k}"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-consumer-bench-provider.json"
        path.write_text(json.dumps(pact(count), indent=2))
        started = time.monotonic()
        command = [sys.executable, __file__, "--consumer", str(count)]
        result = subprocess.run([CLI, "prune", str(path), "--", *command], capture_output=True, text=True, cwd=ROOT)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            return 1
        summary = result.stdout.splitlines()[0]
        left = json.loads(path.read_text())["interactions"]
        kept = sorted({key for i in left for key in i["response"]["body"]["content"]})
    print(f"prune, {count} interactions x {len(FIELDS) + 1} fields: {summary}")
    print(f"  wall time {seconds:.1f}s (with the core's mock servers starting); fields left: {', '.join(kept)}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--consumer"]:
        consumer(int(sys.argv[2]))
    else:
        sys.exit(main())
