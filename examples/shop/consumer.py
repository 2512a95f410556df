"""A client of the orders service that pages through orders and reads each one.

python -m examples.shop.consumer http://127.0.0.1:8080
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request


def get(base_url: str, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(base_url.rstrip("/") + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def exercise(base_url: str) -> list[str]:
    steps, path = [], "/orders?page=1&per_page=2"
    while path:
        status, page = get(base_url, path)
        assert status == 200, status
        steps.append(f"page {page['page']}: {len(page['items'])} order(s)")
        for order in page["items"]:
            status, full = get(base_url, f"/orders/{order['id']}")
            assert status == 200, status
            steps.append(f"order {full['number']}: {full['total']} {full['currency']}, {len(full['lines'])} line(s)")
        path = page["next"]
    status, _ = get(base_url, "/orders/00000000-0000-4000-8000-000000000000")
    steps.append(f"unknown order: {status}")
    return steps


if __name__ == "__main__":
    for line in exercise(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"):
        print(line)
