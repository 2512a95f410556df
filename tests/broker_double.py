"""A stand-in for a Pact Broker, for tests only: no Pact Broker can be installed here (it is a Ruby gem; see
docs/broker.md). It answers the broker's documented HAL resources that the Pact tools use, no more:

- `GET /` the index; `POST /contracts/publish` (what `pact broker publish` sends) keeps the pacts;
- `POST /pacts/provider/{provider}/for-verification` lists the latest pact of each consumer, whatever the
  selectors (it keeps what it was asked);
- `GET /pacts/provider/{p}/consumer/{c}/version/{v}` a pact with its `_links`: where to publish the results
  (`pb:publish-verification-results`) and its provider (`pb:provider`, whose `pb:branch-version` link the
  core PUTs a branch to);
- `POST .../verification-results` keeps the results; `PUT /pacticipants/{p}/branches/{b}/versions/{v}` keeps
  the branch.

Every request's Authorization header is kept too. With `token`, a request without that bearer token is
answered 401; with `refuse_results`, verification results are answered 403."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from examples.jsonserver import JsonHandler, serving


@dataclass
class BrokerState:
    token: str | None = None
    url: str = ""
    pacts: dict[tuple[str, str], tuple[str, dict]] = field(default_factory=dict)  # (provider, consumer) -> ...
    asked: list[dict] = field(default_factory=list)  # the bodies of the pacts-for-verification requests
    results: list[dict] = field(default_factory=list)
    branches: list[tuple[str, str, str]] = field(default_factory=list)  # (pacticipant, branch, version)
    authorizations: set[str] = field(default_factory=set)
    refuse_results: bool = False  # answer 403 to the verification results


def _handler(state: BrokerState) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def _allowed(self) -> bool:
            given = self.headers.get("Authorization") or ""
            state.authorizations.add(given)
            if state.token and given != f"Bearer {state.token}":
                self.send_json(401, {"error": "unauthorised"})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            if self.path == "/":
                self.send_json(200, _index(state.url))
            elif m := re.fullmatch(r"/pacts/provider/([^/]+)/consumer/([^/]+)/version/([^/]+)", self.path):
                provider, consumer = unquote(m[1]), unquote(m[2])
                version, pact = state.pacts.get((provider, consumer), (None, None))
                if pact is None:
                    self.send_json(404, {"error": "no such pact"})
                    return
                base = f"{state.url}/pacts/provider/{m[1]}/consumer/{m[2]}/pact-version/1"
                links = {
                    "self": {"href": state.url + self.path},
                    "pb:publish-verification-results": {"href": f"{base}/verification-results"},
                    "pb:provider": {"href": f"{state.url}/pacticipants/{m[1]}"},
                }
                self.send_json(200, pact | {"_links": links})
            elif m := re.fullmatch(r"/pacticipants/([^/]+)", self.path):
                href = f"{state.url}/pacticipants/{m[1]}/branches/{{branch}}/versions/{{version}}"
                self.send_json(200, {"name": unquote(m[1]), "_links": {"pb:branch-version": {"href": href}}})
            else:
                self.send_json(404, {"error": "not in the broker double", "path": self.path})

        def do_POST(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            body = self.read_json() or {}
            if self.path == "/contracts/publish":
                for contract in body.get("contracts", []):
                    pact = json.loads(base64.b64decode(contract["content"]))
                    key = (contract["providerName"], contract["consumerName"])
                    state.pacts[key] = (body["pacticipantVersionNumber"], pact)
                self.send_json(200, {"notices": [{"type": "success", "text": "published"}], "_links": {}})
            elif m := re.fullmatch(r"/pacts/provider/([^/]+)/for-verification", self.path):
                state.asked.append(body)
                provider = unquote(m[1])
                pacts = [
                    {
                        "shortDescription": f"latest pact of {consumer}",
                        "_links": {"self": {"href": _pact_url(state.url, provider, consumer, version)}},
                        "verificationProperties": {"pending": False, "notices": []},
                    }
                    for (p, consumer), (version, _) in sorted(state.pacts.items())
                    if p == provider
                ]
                self.send_json(200, {"_embedded": {"pacts": pacts}})
            elif self.path.endswith("/verification-results") and state.refuse_results:
                self.send_json(403, {"error": "this token may not publish verification results"})
            elif self.path.endswith("/verification-results"):
                state.results.append(body)
                self.send_json(201, {"success": body.get("success")})
            else:
                self.send_json(404, {"error": "not in the broker double", "path": self.path})

        def do_PUT(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            self.read_json()
            if m := re.fullmatch(r"/pacticipants/([^/]+)/branches/([^/]+)/versions/([^/]+)", self.path):
                state.branches.append((unquote(m[1]), unquote(m[2]), unquote(m[3])))
                self.send_json(200, {})
            else:
                self.send_json(404, {"error": "not in the broker double", "path": self.path})

    return Handler


def _index(url: str) -> dict:
    return {
        "_links": {
            "pb:publish-contracts": {"href": f"{url}/contracts/publish"},
            "pb:provider-pacts-for-verification": {
                "href": f"{url}/pacts/provider/{{provider}}/for-verification",
                "templated": True,
            },
        }
    }


def _pact_url(url: str, provider: str, consumer: str, version: str) -> str:
    return f"{url}/pacts/provider/{quote(provider)}/consumer/{quote(consumer)}/version/{quote(version)}"


@contextmanager
def broker(token: str | None = None) -> Iterator[BrokerState]:
    state = BrokerState(token)
    with serving(_handler(state)) as url:
        state.url = url
        yield state
