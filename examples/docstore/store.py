"""The document store's data, in memory: accounts, and a tree of stores > collections > records.

Every node has `last_modified` (epoch milliseconds from one clock that never repeats or goes back,
so an ETag names exactly one version) and the client's own fields. The HTTP layer (provider.py)
decides who may do what; this module only keeps the tree consistent.

    >>> db = Docstore()
    >>> store = db.put(("main",), {"title": "Main"}, owner="alice")[0]
    >>> db.put(("main", "orders"), {})[1]            # created?
    True
    >>> db.lookup(("main", "orders", "r1"))           # (deepest node found, depth reached)
    (Node(id='orders', ...), 2)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

KINDS = ("store", "collection", "record")
"""What a node is called at each depth of the tree, in 404 bodies and logs."""


@dataclass(repr=False)
class Node:
    id: str
    data: dict
    last_modified: int
    owner: str | None = None
    children: dict[str, Node] = field(default_factory=dict)
    children_modified: int = 0
    """When a child was last written or removed: the version of the children's list."""

    def __repr__(self) -> str:
        return f"Node(id={self.id!r}, ...)"

    @property
    def etag(self) -> str:
        return f'"{self.last_modified}"'

    def body(self) -> dict:
        return {**self.data, "id": self.id, "last_modified": self.last_modified}


@dataclass
class Account:
    name: str
    salt: str
    password_hash: str
    last_modified: int

    def body(self) -> dict:
        return {"id": self.name, "last_modified": self.last_modified}

    @property
    def etag(self) -> str:
        return f'"{self.last_modified}"'


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


SERVER_FIELDS = ("id", "last_modified")
"""Fields the server owns: a client's value for them is ignored."""


def client_fields(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in SERVER_FIELDS}


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7396 JSON merge patch: objects merge recursively, null removes a key."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = value
    return out


class Docstore:
    """All state; callers hold `lock` across a check and the write that depends on it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.root = Node("", {}, 0)
        self._last = 0

    def tick(self) -> int:
        """A fresh timestamp: now in milliseconds, or one more than the last one given."""
        self._last = max(int(time.time() * 1000), self._last + 1)
        return self._last

    def flush(self) -> None:
        self.accounts.clear()
        self.root = Node("", {}, 0)

    # accounts

    def put_account(self, name: str, password: str) -> tuple[Account, bool]:
        created = name not in self.accounts
        salt = secrets.token_hex(8)
        self.accounts[name] = Account(name, salt, _hash(password, salt), self.tick())
        return self.accounts[name], created

    def check_password(self, name: str, password: str) -> bool:
        account = self.accounts.get(name)
        return account is not None and hmac.compare_digest(account.password_hash, _hash(password, account.salt))

    def delete_account(self, name: str) -> int:
        """Remove the account and every store it owns; returns the deletion's timestamp."""
        del self.accounts[name]
        for sid in [sid for sid, s in self.root.children.items() if s.owner == name]:
            del self.root.children[sid]
        return self.tick()

    # the tree

    def lookup(self, keys: tuple[str, ...]) -> tuple[Node, int]:
        """The deepest existing node along `keys`, and how many keys were found."""
        node = self.root
        for depth, key in enumerate(keys):
            child = node.children.get(key)
            if child is None:
                return node, depth
            node = child
        return node, len(keys)

    def get(self, keys: tuple[str, ...]) -> Node | None:
        node, depth = self.lookup(keys)
        return node if depth == len(keys) else None

    def put(self, keys: tuple[str, ...], data: dict, owner: str | None = None) -> tuple[Node, bool]:
        """Create or replace the node at `keys` (its parent must exist); its children survive a replace."""
        parent = self.get(keys[:-1])
        assert parent is not None, f"parent of {keys} is missing"
        old = parent.children.get(keys[-1])
        stamp = self.tick()
        node = Node(keys[-1], client_fields(data), stamp, owner or (old and old.owner))
        if old is not None:
            node.children, node.children_modified = old.children, old.children_modified
        parent.children[keys[-1]] = node
        parent.children_modified = stamp
        return node, old is None

    def patch(self, keys: tuple[str, ...], changes: dict) -> Node:
        node = self.get(keys)
        node.data = merge_patch(node.data, client_fields(changes))
        node.last_modified = self.get(keys[:-1]).children_modified = self.tick()
        return node

    def delete(self, keys: tuple[str, ...]) -> int:
        """Remove the node and everything under it; returns the deletion's timestamp."""
        parent = self.get(keys[:-1])
        del parent.children[keys[-1]]
        parent.children_modified = self.tick()
        return parent.children_modified

    def page(self, keys: tuple[str, ...], limit: int, after: str | None) -> tuple[list[Node], bool, int]:
        """Up to `limit` children of `keys` with ids after `after`, in id order; whether more
        follow; how many there are in all."""
        children = sorted(self.get(keys).children.values(), key=lambda n: n.id)
        rest = [n for n in children if after is None or n.id > after]
        return rest[:limit], len(rest) > limit, len(children)


def make_cursor(last_id: str) -> str:
    """An opaque cursor: the last id seen and a random salt, so clients cannot build or compare them."""
    raw = json.dumps({"last": last_id, "salt": secrets.token_hex(4)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(token: str) -> str:
    """The last id a cursor carries; ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        last = json.loads(raw)["last"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"invalid pagination token {token!r}") from e
    if not isinstance(last, str):
        raise ValueError(f"invalid pagination token {token!r}")
    return last
