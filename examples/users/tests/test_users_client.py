"""The example consumer's own test suite: the client against the real users service, found by host.

    USERS_URL=http://127.0.0.1:5001 pytest examples/users/tests

It knows nothing of pact-recorder; run under the plugin it records (see docs/suites.md).
"""

import os

import pytest

from examples.users.consumer import UsersClient


@pytest.fixture
def client() -> UsersClient:
    return UsersClient(os.environ["USERS_URL"])


def test_reads_a_user(client):
    assert client.get_user(101)["name"] == "Ada Lovelace"


def test_reads_another_user(client):
    assert client.get_user(102)["email"] == "grace@example.com"


def test_a_missing_user_is_none(client):
    assert client.get_user(999) is None


def test_lists_users(client):
    assert {u["id"] for u in client.list_users()} >= {101, 102}
