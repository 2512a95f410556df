"""An orders service with richer data: the second bundled provider.

    python -m examples.shop.provider [--port 5002] [--mutate NAME]

UUID ids, RFC 3339 timestamps, money as decimal strings, nested arrays of objects, a nullable field
(`coupon`, `shipped_at`), an optional field (`note`, only on some orders) and paging query parameters.

    GET  /orders?page=N&per_page=M   {"items": [...], "page", "per_page", "total", "next"}
    GET  /orders/{uuid}              200 the order, or 404 {"error": "not found"}
    POST /_pact/provider_states      "order <uuid> exists" / "order <uuid> does not exist"

`--mutate` changes what the provider returns, so tests can check that verification goes red when the
contract breaks and stays green when it should not care.
"""

from __future__ import annotations

import argparse
import re
import threading
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from examples import jsonserver
from examples.jsonserver import JsonHandler

BREAKING = {
    "rename-field": "a field renamed (placed_at -> placedAt)",
    "integer-to-string": "an integer turned into a string (number)",
    "timestamp-format": "a timestamp's format changed (placed_at without offset)",
    "objects-to-strings": "an array of objects turned into an array of strings (lines)",
    "uuid-to-integer": "a UUID id turned into an integer (id)",
}
COMPATIBLE = {
    "add-field": "a new field added",
    "other-values": "other values of the same type and format",
    "fewer-elements": "fewer array elements (one line)",
    "more-elements": "more array elements (three lines)",
    "reorder-keys": "keys in another order",
}


def _order(n: int, oid: str, customer: str, lines: list[dict], coupon, shipped, note=None) -> dict:
    order = {
        "id": oid,
        "number": 1000 + n,
        "placed_at": f"2024-05-0{n}T10:15:00Z",
        "total": f"{sum(float(line['price']) * line['qty'] for line in lines):.2f}",
        "currency": "EUR",
        "customer": {"id": customer, "name": f"Customer {n}", "email": f"customer{n}@example.com"},
        "lines": lines,
        "coupon": coupon,
        "shipped_at": shipped,
    }
    if note is not None:
        order["note"] = note
    return order


def _line(sku: str, qty: int, price: str, tags: list[str]) -> dict:
    return {"sku": sku, "qty": qty, "price": price, "tags": tags}


SEED = [
    _order(
        1,
        "7d0c1a52-3f65-4d3a-9c0e-0a8f2b6f4e11",
        "c3a1e2b4-1111-4c2d-8e9f-a0b1c2d3e4f5",
        [_line("BOOK-1", 2, "19.95", ["paper"]), _line("PEN-7", 1, "2.50", [])],
        None,
        None,
        note="leave at the door",
    ),
    _order(
        2,
        "9b2f0c1e-0d3c-4f7a-8b8e-2f4a5d6c7e8f",
        "c3a1e2b4-2222-4c2d-8e9f-a0b1c2d3e4f5",
        [_line("MUG-3", 1, "8.00", ["ceramic", "gift"])],
        "SPRING",
        "2024-05-03T08:00:00+02:00",
    ),
    _order(
        3,
        "1e5d9a7c-8b6f-4e3d-a2c1-b0f9e8d7c6b5",
        "c3a1e2b4-3333-4c2d-8e9f-a0b1c2d3e4f5",
        [_line("CARD-9", 3, "1.20", ["paper", "gift"])],
        None,
        "2024-05-04T12:30:00.500Z",
    ),
]


class OrderStore:
    def __init__(self, mutate: str | None = None):
        self.lock = threading.Lock()
        self.mutate = mutate
        self.orders = {o["id"]: o for o in (_vary(o) if mutate == "other-values" else o for o in SEED)}

    def ensure(self, oid: str) -> None:
        with self.lock:
            if oid not in self.orders:
                template = dict(SEED[0], id=oid)
                self.orders[oid] = _vary(template) if self.mutate == "other-values" else template

    def remove(self, oid: str) -> None:
        with self.lock:
            self.orders.pop(oid, None)

    def render(self, order: dict) -> dict:
        """The order as the (possibly mutated) provider sends it."""
        o = {**order, "customer": dict(order["customer"]), "lines": [dict(x) for x in order["lines"]]}
        match self.mutate:
            case "rename-field":
                o["placedAt"] = o.pop("placed_at")
            case "integer-to-string":
                o["number"] = str(o["number"])
            case "timestamp-format":
                o["placed_at"] = o["placed_at"].replace("T", " ").replace("Z", "")
            case "objects-to-strings":
                o["lines"] = [x["sku"] for x in o["lines"]]
            case "uuid-to-integer":
                o["id"] = o["number"]
            case "add-field":
                o["loyalty_points"] = 12
            case "fewer-elements":
                o["lines"] = o["lines"][:1]
            case "more-elements":
                o["lines"] = (o["lines"] * 3)[:3]
            case "reorder-keys":
                o = {k: o[k] for k in reversed(o)}
                o["customer"] = {k: o["customer"][k] for k in reversed(o["customer"])}
        return o


def _vary(order: dict) -> dict:
    """Same types and formats, other values."""
    return {
        **order,
        "number": order["number"] + 500,
        "placed_at": order["placed_at"].replace("2024-05", "2025-11"),
        "total": f"{float(order['total']) + 10:.2f}",
        "customer": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, order["customer"]["id"])),
            "name": "Someone Else",
            "email": "someone.else@example.org",
        },
        "lines": [
            dict(x, sku=x["sku"] + "X", qty=x["qty"] + 1, price=f"{float(x['price']) + 1:.2f}") for x in order["lines"]
        ],
        "coupon": "AUTUMN" if order["coupon"] else None,
    }


def make_handler(store: OrderStore):
    class Handler(JsonHandler):
        server_version = "shop/1.0"

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/orders":
                query = parse_qs(url.query)
                page, per_page = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["2"])[0])
                with store.lock:
                    orders = [store.render(o) for o in store.orders.values()]
                items = orders[(page - 1) * per_page : page * per_page]
                more = page * per_page < len(orders)
                return self.send_json(
                    200,
                    {
                        "items": items,
                        "page": page,
                        "per_page": per_page,
                        "total": len(orders),
                        "next": f"/orders?page={page + 1}&per_page={per_page}" if more else None,
                    },
                )
            if m := re.fullmatch(r"/orders/([0-9a-f-]{36})", url.path):
                with store.lock:
                    order = store.orders.get(m.group(1))
                if order is None:
                    return self.send_json(404, {"error": "not found"})
                return self.send_json(200, store.render(order))
            self.send_json(404, {"error": "no such endpoint"})

        def do_POST(self):
            data = self.read_json() or {}
            if self.path != "/_pact/provider_states":
                return self.send_json(404, {"error": "no such endpoint"})
            m = re.fullmatch(r"order (\S+) (exists|does not exist)", data.get("state", ""))
            if m and data.get("action", "setup") == "setup":
                oid = (data.get("params") or {}).get("id", m.group(1))
                store.ensure(oid) if m.group(2) == "exists" else store.remove(oid)
            return self.send_json(200, {})

    return Handler


def make_server(port: int = 0, mutate: str | None = None) -> ThreadingHTTPServer:
    return jsonserver.make_server(make_handler(OrderStore(mutate)), port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5002)
    ap.add_argument("--mutate", choices=[*BREAKING, *COMPATIBLE])
    args = ap.parse_args()
    jsonserver.serve_forever(make_server(args.port, args.mutate))


if __name__ == "__main__":
    main()
