"""The bundled example's state-URL flow: the users provider's own state handler seeds data that
satisfies what the recorder infers (array `min: 1`), and `review` shows that `min`."""

from __future__ import annotations

import json

from recorder.tools.review import load_review, render_text
from recorder.verify.run import verify

ROLES_MIN = {"combine": "AND", "matchers": [{"match": "type", "min": 1}]}


def users_listed_after_a_create() -> dict:
    """`GET /users` as the recorder writes it after the consumer created user 103: the state names the
    ids listed, one of which is not in the provider's seed data."""
    item = {"id": 101, "name": "Ada Lovelace", "email": "ada@example.com", "active": True, "roles": ["admin"]}
    return {
        "consumer": {"name": "user-web"},
        "provider": {"name": "user-service"},
        "interactions": [
            {
                "type": "Synchronous/HTTP",
                "description": "GET /users returns 200",
                "providerStates": [{"name": "users exist", "params": {"ids": [101, 103]}}],
                "request": {"method": "GET", "path": "/users"},
                "response": {
                    "status": 200,
                    "body": {"content": {"items": [item], "count": 2}, "contentType": "application/json"},
                    "matchingRules": {
                        "body": {
                            "$.items": ROLES_MIN,
                            "$.items[*].roles": ROLES_MIN,
                            "$.count": {"combine": "AND", "matchers": [{"match": "integer"}]},
                        }
                    },
                },
            }
        ],
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }


def test_users_exist_seeds_users_that_meet_the_recorded_contract(users_provider, tmp_path):
    pact = tmp_path / "user-web-user-service.json"
    pact.write_text(json.dumps(users_listed_after_a_create()))
    provider = users_provider()
    result = verify(pact, provider.url, state_url=provider.state_url)
    assert result.ok, [o.problems for o in result.outcomes] + result.errors
    text = render_text(load_review(pact), width=200)
    assert "response $.items[*].roles: type min 1" in text
