"""Peak memory of the recording pipeline over 10k and 100k exchanges of the same ~50 endpoints.

    python bench/memory.py [COUNTS...]      (default: 10000 100000)

Each count runs in a fresh process (peak RSS cannot go down within one): exchanges are generated,
fed to a Recording one by one (redaction, endpoint detection, shape merging, evidence) and the pact is
written at the end. Memory should grow with the number of interactions, not with the traffic.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
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


def child(n: int) -> None:
    from recorder.pipeline import Recording, Settings

    with tempfile.TemporaryDirectory() as out:
        recording = Recording(Settings("bench", "api", Path(out)))
        start = time.perf_counter()
        for ex in exchanges(n):
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


def main(counts: list[int]) -> None:
    rows = []
    for n in counts:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'exchanges':>10} {'interactions':>12} {'peak RSS MB':>12} {'seconds':>8} {'exch/s':>8}")
    for r in rows:
        print(
            f"{r['exchanges']:>10} {r['interactions']:>12} {r['peak_rss_mb']:>12} {r['seconds']:>8} "
            f"{r['exchanges'] / r['seconds']:>8.0f}"
        )
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(
            f"peak RSS at {rows[-1]['exchanges']} / at {rows[0]['exchanges']}: {ratio:.2f} "
            f"(target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'})"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
