"""A consumer's tests that read only some fields: a user's `id` and `name`, and the `error` of an error
body (like the pact-python examples' consumers). `prune` must find exactly these.

    USERS_URL=http://127.0.0.1:5001 python tests/data/partial_consumer/reads_some_fields.py

A plain script (exit 1 on the first failed check), so the many runs of prune start fast.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from examples.users.consumer import UsersClient  # noqa: E402

client = UsersClient(os.environ["USERS_URL"])


def test_shows_a_user_by_name():
    user = client.get_user(101)
    assert isinstance(user["id"], int) and user["name"] == "Ada Lovelace"


def test_explains_a_missing_user():
    status, _, body = client._call("GET", "/users/999")
    assert status == 404 and body["error"] == "not found"


if __name__ == "__main__":
    test_shows_a_user_by_name()
    test_explains_a_missing_user()
