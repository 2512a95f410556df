"""The consumer in the bundled example: a client of the users service, and a script that exercises it.

python -m examples.users.consumer http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request


class UsersClient:
    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Accept": "application/json"}
        )
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    def list_users(self) -> list[dict]:
        status, _, body = self._call("GET", "/users")
        assert status == 200, status
        return body["items"]

    def get_user(self, uid: int) -> dict | None:
        status, _, body = self._call("GET", f"/users/{uid}")
        if status == 404:
            return None
        assert status == 200, status
        return body

    def update_user(self, uid: int, **changes) -> dict:
        status, _, body = self._call("PUT", f"/users/{uid}", changes)
        assert status == 200, status
        return body

    def delete_user(self, uid: int) -> None:
        status, _, _ = self._call("DELETE", f"/users/{uid}")
        assert status == 204, status

    def create_user(self, name: str, email: str) -> tuple[dict, str]:
        status, headers, body = self._call("POST", "/users", {"name": name, "email": email, "roles": ["reader"]})
        assert status == 201, status
        return body, headers["Location"]


def exercise(base_url: str) -> list[str]:
    """What the consumer does in the demo; returns one line per step."""
    client = UsersClient(base_url)
    steps = [f"listed {len(client.list_users())} users"]
    steps.append(f"read user 101: {client.get_user(101)['name']}")
    steps.append(f"user 999 exists: {client.get_user(999) is not None}")
    user, location = client.create_user("Katherine Johnson", "katherine@example.com")
    steps.append(f"created user {user['id']} at {location}")
    steps.append(f"read it back: {client.get_user(user['id'])['email']}")
    return steps


def lifecycle(base_url: str, token: str | None = None) -> list[str]:
    """A stateful run: create a user, read it, list users, update it, delete it, read it again."""
    client = UsersClient(base_url, token)
    user, location = client.create_user("Katherine Johnson", "katherine@example.com")
    uid = int(location.rsplit("/", 1)[1])
    steps = [f"created user {uid} at {location}"]
    steps.append(f"read it: {client.get_user(uid)['name']}")
    steps.append(f"listed {len(client.list_users())} users")
    steps.append(f"renamed it: {client.update_user(uid, name='Katherine G. Johnson')['name']}")
    client.delete_user(uid)
    steps.append(f"deleted it; read again: {client.get_user(uid)}")
    return steps


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m examples.users.consumer",
        description="Exercise the users service once: list, read, create, rename and delete a user.",
    )
    ap.add_argument(
        "base_url",
        nargs="?",
        default="http://127.0.0.1:8080",
        metavar="URL",
        help="where the users service is, or the recorder in front of it (default http://127.0.0.1:8080)",
    )
    for line in exercise(ap.parse_args(argv).base_url):
        print(line)


if __name__ == "__main__":
    main()
