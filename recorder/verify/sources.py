"""Where `verify` reads pacts from, as the Pact core's verifier does: a file, a pact URL (a broker serves each
pact at one), or a Pact Broker asked for the pacts of a provider by consumer-version selectors (its
`pb:provider-pacts-for-verification` resource). What a pact carries for its verification travels inside it
(recorder.pact.source), so a pact from a broker verifies with the states from its recording."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from recorder.pact.core_verifier import FOR_VERIFICATION
from recorder.pact.source import PactSource

TIMEOUT = 30
HAL = "application/hal+json, application/json"


@dataclass(frozen=True)
class BrokerAuth:
    """Credentials for a broker or a pact URL: a bearer token, or a user name and password (Basic)."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.token and self.username:
            raise ValueError("--broker-token and --broker-username: give one way to log in to the broker")

    def options(self) -> dict[str, str]:
        """As the Pact core's broker source takes them (pact-python's `broker_source`)."""
        if self.token:
            return {"token": self.token}
        return {"username": self.username, "password": self.password or ""} if self.username else {}

    def header(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {}


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def pact_at(location: str, auth: BrokerAuth) -> PactSource:
    """The pact in a file or at an http(s) URL; ValueError, said for the user, when there is none."""
    if not is_url(location):
        return PactSource.read(Path(location))
    doc = _json(location, auth)
    if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
        raise ValueError(f"{location}: not a pact (no 'interactions' list)")
    return PactSource(doc, location, links=doc.pop("_links", None) or {})


def broker_pacts(
    broker_url: str, provider: str, selectors: list[dict], auth: BrokerAuth, branch: str | None = None
) -> list[PactSource]:
    """The pacts a Pact Broker holds for `provider` that the selectors choose (none: the broker's default,
    the latest pact of each consumer). ValueError when the broker cannot be asked or holds none."""
    index = _json(broker_url.rstrip("/") + "/", auth)
    link = ((index.get("_links") or {}).get(FOR_VERIFICATION) or {}).get("href") if isinstance(index, dict) else None
    if not link:
        raise ValueError(f"--broker-url {broker_url}: no {FOR_VERIFICATION} link in its index: is it a Pact Broker?")
    ask = {"consumerVersionSelectors": selectors, "includePendingStatus": False}
    if branch:
        ask["providerVersionBranch"] = branch
    found = _json(link.replace("{provider}", quote(provider, safe="")), auth, ask)
    pacts = ((found.get("_embedded") or {}).get("pacts") or []) if isinstance(found, dict) else []
    urls = [p["_links"]["self"]["href"] for p in pacts if isinstance(p, dict) and p.get("_links", {}).get("self")]
    if not urls:
        chosen = f" chosen by {json.dumps(selectors)}" if selectors else ""
        raise ValueError(f"--broker-url {broker_url}: the broker holds no pact for provider {provider!r}{chosen}")
    return [pact_at(url, auth) for url in urls]


def _json(url: str, auth: BrokerAuth, body: dict | None = None) -> Any:
    """GET (or POST `body` to) a URL for JSON, with the credentials; ValueError saying what went wrong."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": HAL, **auth.header(), **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        hint = " (pass --broker-token, or --broker-username and --broker-password)" if e.code in (401, 403) else ""
        raise ValueError(f"{url}: answered {e.code} {e.reason}{hint}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ValueError(f"{url}: cannot reach it ({getattr(e, 'reason', e)})") from None
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"{url}: the answer is not JSON") from None
