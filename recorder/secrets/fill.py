"""Real values back where the recording redacted them, at verify time, in memory only.

The recorder names every redacted request value (`password`, `authorization`, a second distinct one
`password_2`) and says where it was. A verification gets the values from `--secret NAME=VALUE`,
from `PACT_SECRET_<NAME>` in the environment, or (for headers) from `--header`; a secret the recording
itself set (an account's password sent in a request body that a setup sends again) may be made up on
the spot, since the setup and the interactions then use the same one. Basic credentials built on such a
password are rebuilt from it:

    entry {in: header, key: Authorization, secret: password, user: alice}, password=s3cret
      -> Authorization: Basic YWxpY2U6czNjcmV0
"""

from __future__ import annotations

import base64
import os
import re
import secrets as random_secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from recorder.formats import multipart
from recorder.secrets.redact import PLACEHOLDER
from recorder.secrets.signing import credentials, marker, signed


@dataclass
class Secrets:
    given: dict[str, str] = field(default_factory=dict)  # --secret NAME=VALUE
    headers: dict[str, str] = field(default_factory=dict)  # --header, by lower-case name
    made: set[str] = field(default_factory=set)  # names the recording set itself: made up if not given
    _made_up: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, given: dict[str, str], headers: dict[str, str], made: set[str]) -> Secrets:
        env = {k.removeprefix("PACT_SECRET_").lower(): v for k, v in os.environ.items() if k.startswith("PACT_SECRET_")}
        return cls(env | given, {k.lower(): v for k, v in headers.items()}, made)

    def raw(self, name: str) -> str | None:
        if name in self.given:
            return self.given[name]
        if name in self.made:
            return self._made_up.setdefault(name, random_secrets.token_urlsafe(18))
        return None

    def value(self, entry: dict, recorded: str = "", issued: dict[str, str] | None = None) -> str | None:
        """What goes where `entry` says; `recorded` is the redacted text there (a header keeps its scheme).
        A secret a response handed out (`issued`) is what the fresh provider handed out this time."""
        if signed(entry):  # signed afresh by the relay, with the key if there is one (a refused answer: with none)
            return marker(entry) if entry.get("refused") or credentials(entry, self.given) is not None else None
        if entry.get("issued"):
            if cookies := entry.get("cookies"):
                values = [(name, (issued or {}).get(secret)) for name, secret in cookies]
                return None if any(v is None for _, v in values) else "; ".join(f"{n}={v}" for n, v in values)
            fresh = (issued or {}).get(entry["secret"])
            if fresh is not None and "user" in entry:  # user:token rebuilt around the fresh token
                return _credentials(entry, fresh)
            return None if fresh is None else entry.get("prefix", "") + fresh
        header = self.headers.get(str(entry["key"]).lower()) if entry.get("in") == "header" else None
        # --header fills the names it matches, never a credential the provider refused (made up instead).
        own = entry["secret"] in self.given or entry["secret"] in self.made
        if header is not None and not own and "user" not in entry:
            return header
        raw = self.raw(entry["secret"])
        if raw is None:
            return None
        if "user" in entry:
            return _credentials(entry, raw)
        before = recorded.split(PLACEHOLDER)[0]
        if entry.get("in") == "header" and PLACEHOLDER in recorded and not raw.startswith(before or "\0"):
            scheme, _, kind = before.partition(" ")
            if kind and raw.startswith(kind):  # given as the token alone, its kind included
                return f"{scheme} {raw}"
            if recorded.lower().startswith("basic ") and entry["secret"] not in self.given:
                # Made up, it must still be Basic credentials (user:password): a provider ignores a
                # malformed header, and would let through a request it refused in the recording.
                raw = base64.b64encode(f"pact-recorder:{raw}".encode()).decode("ascii")
            return recorded.replace(PLACEHOLDER, raw, 1)
        return raw

    def missing(self, entries: list[dict]) -> list[str]:
        """Secrets nobody gave (those a response hands out come from the setups)."""
        return sorted({e["secret"] for e in entries if not e.get("issued") and self.value(e, PLACEHOLDER) is None})


def credentials_param(entry: dict) -> str:
    """The generator param that carries `user:token` rebuilt around a token a response handed out (the
    Pact core's expressions cannot encode): the setup answers it (`issued_credentials`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{entry['secret']}_as_{entry['user']}")


def issued_credentials(entries: list[dict], issued: dict[str, str]) -> dict[str, str]:
    """credentials_param -> the header value, for the entries whose token the fresh provider handed out."""
    return {
        credentials_param(e): _credentials(e, issued[e["secret"]])
        for e in entries
        if e.get("issued") and "user" in e and e["secret"] in issued
    }


def _credentials(entry: dict, password: str) -> str:
    """`user:password` in base64, after the entry's scheme (Basic unless it says another, or none)."""
    encoded = base64.b64encode(f"{entry['user']}:{password}".encode()).decode("ascii")
    scheme = entry.get("scheme", "Basic")
    return f"{scheme} {encoded}" if scheme else encoded


def where(entry: dict) -> str:
    """Where a redacted request value was, for a person: `the JSON body's $.password`, `header Authorization`."""
    key = entry.get("key")
    if isinstance(key, list):
        key = "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key)
    places = {"body": "the JSON body's", "header": "header", "query": "query parameter", "form": "form field"}
    return f"{places.get(entry.get('in'), entry.get('in'))} {key}"


def option(entry: dict) -> str:
    """The verify option that gives the real value of a redacted request value."""
    return f"--secret {entry['secret']}=VALUE" if entry.get("secret") else f"--header '{entry.get('key')}: VALUE'"


def made_by_recording(steps: list[dict]) -> set[str]:
    """Secrets the recording set, so any value will do: sent in a body, query or form by a setup step (in
    recorded order) before any login sent it."""
    return {name for name, login in _first_senders(steps).items() if not login}


def held_before(steps: list[dict]) -> set[str]:
    """Secrets a login (a POST that hands a credential out) sent before any other request: a password the
    provider already held (an administrator's), which must be given even where a later request of the
    recording set it again."""
    return {name for name, login in _first_senders(steps).items() if login}


def _first_senders(steps: list[dict]) -> dict[str, bool]:
    """Each secret sent in a body, query or form -> whether the first step to send it was a login: a POST
    answered 200 that hands out a credential, or answered 201 (a token made: Keystone's) and sent again
    to the same URL with the same secret (a registration that hands out a token is sent once). (Not one
    an XML element carries: a credential the request presents, a WS-Security password, which the provider
    holds.)"""
    sent = Counter(
        (e["secret"], step.get("path")) for step in steps if step.get("method") == "POST" for e in _sent(step)
    )
    first: dict[str, bool] = {}
    for step in steps:
        issues, status = bool(step.get("issues")) and step.get("method") == "POST", step.get("status")
        for e in _sent(step):
            again = sent[(e["secret"], step.get("path"))] > 1
            first.setdefault(e["secret"], issues and (status == 200 or status == 201 and again))
    return first


def _sent(step: dict) -> list[dict]:
    return [e for e in step.get("secrets", []) if e.get("in") != "header" and "element" not in e]


def fill_step(step: dict, secrets: Secrets, issued: dict[str, str] | None = None) -> dict:
    """A recorded setup step with real values in place of its placeholders."""
    out = dict(step)
    headers = [list(h) for h in step.get("headers", [])]
    for e in step.get("secrets", []):
        kind, value = e.get("in"), lambda recorded="", e=e: secrets.value(e, recorded, issued)
        if kind == "header":
            for h in headers:
                if h[0].lower() == str(e["key"]).lower() and (v := value(h[1])) is not None:
                    h[1] = v
        elif kind == "query":
            out["query"] = [[k, _fill_param(v, value()) if k == e["key"] else v] for k, v in out.get("query", [])]
        elif kind == "body" and "json" in out:
            out["json"] = _set(out["json"], e["key"], value(), in_place=True)
        elif kind in ("form", "text") and "text" in out:
            out["text"] = _fill_text(out["text"], e, secrets, issued)
        elif kind == "multipart":
            ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
            for key, decode, encode in (("text", str.encode, bytes.decode), ("base64", base64.b64decode, _b64)):
                if key in out:
                    out[key] = encode(_fill_upload(decode(out[key]), ctype, e, secrets, issued))
    out["headers"] = headers
    return out


def fill_request(request: dict, entries: list[dict], secrets: Secrets) -> None:
    """An interaction's request (V4 or V3) with real values in place of its placeholders."""
    headers = request.get("headers") or {}
    for e in entries:
        kind = e.get("in")
        if kind == "header":
            name = next((k for k in headers if k.lower() == str(e["key"]).lower()), None)
            if name is None:
                continue
            current = headers[name]
            recorded = ", ".join(current) if isinstance(current, list) else current
            if (v := secrets.value(e, recorded)) is not None:
                headers[name] = [v] if isinstance(current, list) else v
        elif kind == "query" and isinstance(request.get("query"), dict) and e["key"] in request["query"]:
            if (v := secrets.value(e)) is not None:
                current = request["query"][e["key"]]
                filled = _in_place(current[0] if isinstance(current, list) and current else current, v)
                request["query"][e["key"]] = [filled] if isinstance(current, list) else filled
                _fill_generator(request, "query", e["key"], v)
        elif kind == "multipart" and isinstance(request.get("body"), dict) and "contentType" in request["body"]:
            body = request["body"]
            if body.get("encoded") == "base64":
                body["content"] = _b64(_fill_upload(base64.b64decode(body["content"]), body["contentType"], e, secrets))
            elif isinstance(body.get("content"), str):
                body["content"] = _fill_upload(body["content"].encode(), body["contentType"], e, secrets).decode()
        elif kind == "multipart" and isinstance(request.get("body"), str):  # V3: the text as sent
            ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
            request["body"] = _fill_upload(request["body"].encode(), ctype, e, secrets).decode()
        elif kind in ("body", "form", "text") and "body" in request:
            body = request["body"]
            v4 = isinstance(body, dict) and "content" in body and "contentType" in body
            content = body["content"] if v4 else body
            if kind == "body":
                content = _set(content, e["key"], secrets.value(e), in_place=True)
            elif isinstance(content, str):
                content = _fill_text(content, e, secrets)
            if v4:
                body["content"] = content
            else:
                request["body"] = content
            keys = [e["key"]] if kind == "form" else e["key"] if kind == "body" else []
            if keys and all(isinstance(k, str) for k in keys) and (v := secrets.value(e)) is not None:
                _fill_generator(request, "body", "$." + ".".join(keys), v)


def _fill_generator(request: dict, category: str, at: str, value: str) -> None:
    """A generator writes its place afresh from the recorded text (a statement around a fresh name): the
    secret goes into that text too."""
    generator = ((request.get("generators") or {}).get(category) or {}).get(at)
    if isinstance(generator, dict) and PLACEHOLDER in str(generator.get("expression", "")):
        generator["expression"] = generator["expression"].replace(PLACEHOLDER, value, 1)


def _fill_param(recorded: str, value: str | None) -> str:
    return recorded if value is None else _in_place(recorded, value)


def _in_place(recorded: str, value: str) -> str:
    """The secret where the recording redacted it: the whole value, or inside it (a statement's password)."""
    if isinstance(recorded, str) and PLACEHOLDER in recorded and recorded != PLACEHOLDER:
        return recorded.replace(PLACEHOLDER, value, 1)
    return value


def _set(document: Any, keys: list, value: str | None, in_place: bool = False) -> Any:
    """`value` at `keys` of a JSON document; `in_place`: where the recorded text there holds the placeholder."""
    if value is None:
        return document
    try:
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = _in_place(target[keys[-1]], value) if in_place else value
    except (KeyError, IndexError, TypeError):
        pass  # the example no longer has that place (edited by hand): leave it
    return document


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fill_upload(
    data: bytes, content_type: str | None, e: dict, secrets: Secrets, issued: dict[str, str] | None = None
) -> bytes:
    """An upload with the secret form field `e` names filled in (the part as redacted, by name)."""
    mark, value = multipart.boundary(content_type), secrets.value(e, "", issued)
    if mark is None or value is None:
        return data
    try:
        return multipart.with_content(data, mark, str(e["key"]), PLACEHOLDER.encode(), value.encode())
    except ValueError:
        return data  # edited by hand into something else: leave it


def _fill_text(text: str, e: dict, secrets: Secrets, issued: dict[str, str] | None = None) -> str:
    value = secrets.value(e, "", issued)
    if value is None:
        return text
    if e.get("in") == "form":
        pairs = parse_qsl(text, keep_blank_values=True)
        return urlencode([(k, _in_place(v, value) if k == e["key"] and PLACEHOLDER in v else v) for k, v in pairs])
    return text.replace(PLACEHOLDER, value, 1)
