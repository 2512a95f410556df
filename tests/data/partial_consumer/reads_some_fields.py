"""A consumer suite that reads only some fields: a user's `id` and `name`, and the `error` of an error
body (like the pact-python examples' consumers). `prune` must find exactly these."""

import os

from examples.users.consumer import UsersClient


def client() -> UsersClient:
    return UsersClient(os.environ["USERS_URL"])


def test_shows_a_user_by_name():
    user = client().get_user(101)
    assert isinstance(user["id"], int) and user["name"] == "Ada Lovelace"


def test_explains_a_missing_user():
    status, _, body = client()._call("GET", "/users/999")
    assert status == 404 and body["error"] == "not found"
