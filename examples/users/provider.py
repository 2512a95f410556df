"""A small users service: the provider in the bundled example.

    python -m examples.users.provider [--port 5001] [--break rename-email|id-as-string]

Listens on 127.0.0.1 only and prints `listening on http://127.0.0.1:PORT` once it accepts connections.

    GET  /users          {"items": [...], "count": n}
    GET  /users/{id}     200 the user, or 404 {"error": "not found", "id": id}
    POST /users          201 the new user, Location: /users/{id}
    POST /_pact/provider_states   {"state", "params", "action"} as the Pact verifier sends it

`--break` makes the provider break its contract, so tests can check that verification goes red.
"""

from __future__ import annotations

import argparse
import re
import threading
from http.server import ThreadingHTTPServer

from examples import jsonserver
from examples.jsonserver import JsonHandler

SEED = {
    101: {
        "id": 101,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "active": True,
        "roles": ["admin", "author"],
        "created_at": "2024-05-01T10:00:00Z",
    },
    102: {
        "id": 102,
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "active": False,
        "roles": ["author"],
        "created_at": "2024-06-12T08:30:00Z",
    },
}
BREAKS = ("rename-email", "id-as-string")


class UserStore:
    def __init__(self, breaking: str | None = None):
        self.lock = threading.Lock()
        self.users = {k: dict(v) for k, v in SEED.items()}
        self.breaking = breaking

    def render(self, user: dict) -> dict:
        out = dict(user)
        if self.breaking == "rename-email":
            out["email_address"] = out.pop("email")
        elif self.breaking == "id-as-string":
            out["id"] = str(out["id"])
        return out

    def create(self, data: dict, uid: int | None = None) -> dict:
        with self.lock:
            uid = uid if uid is not None else max(self.users, default=100) + 1
            user = {
                "id": uid,
                "name": data.get("name", "New User"),
                "email": data.get("email", f"user{uid}@example.com"),
                "active": bool(data.get("active", True)),
                "roles": list(data.get("roles", [])),
                "created_at": "2024-07-01T12:00:00Z",
            }
            self.users[uid] = user
            return user

    def change_state(self, state: str, params: dict, action: str) -> None:
        """Provider states named like `user 101 exists` / `user 999 does not exist`."""
        m = re.fullmatch(r"user (\S+) (exists|does not exist)", state or "")
        if action != "setup" or not m:
            return
        uid = int(params.get("id", m.group(1)))
        if m.group(2) == "exists":
            seed = SEED.get(uid, {"name": f"User {uid}", "roles": ["reader"]})
            self.create(seed, uid)
        else:
            with self.lock:
                self.users.pop(uid, None)


def make_handler(store: UserStore):
    class Handler(JsonHandler):
        server_version = "users-service/1.0"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/users":
                with store.lock:
                    users = [store.render(u) for _, u in sorted(store.users.items())]
                return self.send_json(200, {"items": users, "count": len(users)})
            if m := re.fullmatch(r"/users/(\d+)", path):
                uid = int(m.group(1))
                with store.lock:
                    user = store.users.get(uid)
                if user is None:
                    return self.send_json(404, {"error": "not found", "id": uid})
                return self.send_json(200, store.render(user))
            self.send_json(404, {"error": "no such endpoint"})

        def do_POST(self):
            data = self.read_json()
            if data is None:
                return self.send_json(400, {"error": "body is not JSON"})
            if self.path == "/users":
                user = store.create(data)
                return self.send_json(201, store.render(user), {"Location": f"/users/{user['id']}"})
            if self.path == "/_pact/provider_states":
                store.change_state(data.get("state", ""), data.get("params") or {}, data.get("action", "setup"))
                return self.send_json(200, {})
            self.send_json(404, {"error": "no such endpoint"})

    return Handler


def make_server(port: int = 0, breaking: str | None = None) -> ThreadingHTTPServer:
    return jsonserver.make_server(make_handler(UserStore(breaking)), port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5001)
    ap.add_argument("--break", dest="breaking", choices=BREAKS)
    args = ap.parse_args()
    jsonserver.serve_forever(make_server(args.port, args.breaking))


if __name__ == "__main__":
    main()
