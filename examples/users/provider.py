"""A small users service: the provider in the bundled example.

    python -m examples.users.provider [--port 5001] [--empty] [--token T] [--break rename-email|id-as-string|drop-name]

Listens on 127.0.0.1 only and prints `listening on http://127.0.0.1:PORT` once it accepts connections.

    GET    /users          {"items": [...], "count": n}
    GET    /users/{id}     200 the user, or 404 {"error": "not found", "id": id}
    POST   /users          201 the new user, Location: /users/{id}
    PUT    /users/{id}     200 the updated user, or 404
    DELETE /users/{id}     204, or 404
    POST   /_pact/provider_states   {"state", "params", "action"} as the Pact verifier sends it

`--empty` starts with no users (as a provider set up fresh for verification would); `--token` makes
every /users call require `Authorization: Bearer <token>` (401 otherwise); `--break` makes the
provider break its contract, so tests can check that verification goes red.
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
BREAKS = ("rename-email", "id-as-string", "drop-name")


def stand_in(uid: int) -> dict:
    """A user a state asks for that the seed data does not have: every list non-empty, as in the
    recordings (the recorder infers `min: 1` for an array it never saw empty)."""
    return {"name": f"User {uid}", "roles": ["reader"]}


FIELDS = ("name", "email", "active", "roles")


class UserStore:
    def __init__(self, breaking: str | None = None, empty: bool = False):
        self.lock = threading.Lock()
        self.users = {} if empty else {k: dict(v) for k, v in SEED.items()}
        self.breaking = breaking

    def render(self, user: dict) -> dict:
        out = dict(user)
        if self.breaking == "rename-email":
            out["email_address"] = out.pop("email")
        elif self.breaking == "id-as-string":
            out["id"] = str(out["id"])
        elif self.breaking == "drop-name":
            del out["name"]
        return out

    def create(self, data: dict, uid: int | None = None) -> dict:
        with self.lock:
            uid = uid if uid is not None else max(self.users, default=100) + 1
            user = {
                "id": uid,
                "name": "New User",
                "email": f"user{uid}@example.com",
                "active": True,
                "roles": [],
                "created_at": "2024-07-01T12:00:00Z",
            }
            user.update({k: data[k] for k in FIELDS if k in data})
            self.users[uid] = user
            return user

    def update(self, uid: int, data: dict) -> dict | None:
        with self.lock:
            if (user := self.users.get(uid)) is not None:
                user.update({k: data[k] for k in FIELDS if k in data})
            return user

    def delete(self, uid: int) -> bool:
        with self.lock:
            return self.users.pop(uid, None) is not None

    def change_state(self, state: str, params: dict, action: str) -> None:
        """The provider's own state endpoint: `user exists` / `user does not exist` (params user),
        `users exist` (params ids) and `no users exist`."""
        if action != "setup":
            return
        if m := re.fullmatch(r"user (exists|does not exist)", state or ""):
            uid = int(params.get("user", params.get("id", 0)))
            if m.group(1) == "exists":
                self.create(SEED.get(uid, stand_in(uid)), uid)
            else:
                self.delete(uid)
        elif state == "users exist":
            for uid in params.get("ids", SEED):
                self.create(SEED.get(uid, stand_in(uid)), uid)
        elif state == "no users exist":
            with self.lock:
                self.users.clear()


def make_handler(store: UserStore, token: str | None = None):
    class Handler(JsonHandler):
        server_version = "users-service/1.0"

        def authorised(self) -> bool:
            if token is None or self.headers.get("Authorization") == f"Bearer {token}":
                return True
            self.send_json(401, {"error": "unauthorised"}, {"WWW-Authenticate": "Bearer"})
            return False

        def user_id(self) -> int | None:
            m = re.fullmatch(r"/users/(\d+)", self.path.split("?", 1)[0])
            return int(m.group(1)) if m else None

        def do_GET(self):
            if not self.authorised():
                return
            if self.path.split("?", 1)[0] == "/users":
                with store.lock:
                    users = [store.render(u) for _, u in sorted(store.users.items())]
                return self.send_json(200, {"items": users, "count": len(users)})
            if (uid := self.user_id()) is not None:
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
            if self.path == "/_pact/provider_states":
                store.change_state(data.get("state", ""), data.get("params") or {}, data.get("action", "setup"))
                return self.send_json(200, {})
            if not self.authorised():
                return
            if self.path == "/users":
                user = store.create(data)
                return self.send_json(201, store.render(user), {"Location": f"/users/{user['id']}"})
            self.send_json(404, {"error": "no such endpoint"})

        def do_PUT(self):
            data = self.read_json()
            if not self.authorised():
                return
            if (uid := self.user_id()) is None or data is None:
                return self.send_json(404 if data is not None else 400, {"error": "no such endpoint"})
            user = store.update(uid, data)
            if user is None:
                return self.send_json(404, {"error": "not found", "id": uid})
            self.send_json(200, store.render(user))

        def do_DELETE(self):
            if not self.authorised():
                return
            if (uid := self.user_id()) is None or not store.delete(uid):
                return self.send_json(404, {"error": "not found"})
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def make_server(
    port: int = 0, breaking: str | None = None, empty: bool = False, token: str | None = None
) -> ThreadingHTTPServer:
    global _latest
    store = _latest = UserStore(breaking, empty)
    server = jsonserver.make_server(make_handler(store, token), port)
    server.store = store
    return server


_latest: UserStore | None = None


def latest_store() -> UserStore:
    """The store of the server started last in this process: what in-process state handlers seed,
    as a real provider's handlers would use its database."""
    assert _latest is not None, "no users provider was started in this process"
    return _latest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5001)
    ap.add_argument("--empty", action="store_true", help="start with no users")
    ap.add_argument("--token", help="require Authorization: Bearer TOKEN")
    ap.add_argument("--break", dest="breaking", choices=BREAKS)
    args = ap.parse_args()
    jsonserver.serve_forever(make_server(args.port, args.breaking, args.empty, args.token))


if __name__ == "__main__":
    main()
