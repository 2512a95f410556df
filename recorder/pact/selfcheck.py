"""Verify a pact with the Pact core against the responses it was recorded from, before it is written.

Each interaction is checked against a replay of some of its own recorded responses (the example, the
first one that differs from it, the last one): a rule that fails against its own recording is a bug of
inference (a header built from a set, XML compared element by element, a value the shapes merged
wrongly), and the contract must not ship it. The part of the response the core objected to is left
out of the contract (a header, a body field and the rules under it, at worst the body), with the
core's words in the evidence; then the check runs again, until the pact passes against every sample.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Any

from recorder.infer.matchers import child_path
from recorder.model import NO_BODY, Sample
from recorder.pact.core_verifier import LocalServer, output_parked, verdict, verifier
from recorder.threadserver import ThreadServer

ROUNDS = 4  # checks before an interaction that still fails keeps only its status and content type
RUNS = 4  # verifiers at once (measured on 2 cores: 2.1 s for 150 checks with one, 1.5 s with two, 1.3 s with four)
CHECKS_PER_RUN = 8  # fewer checks are not worth another verifier's start
_REPLY = "X-Pact-Recorder-Reply"
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "content-encoding"}


def check(interactions: list, render: Callable[[list], dict], passed: set[str] | None = None) -> int:
    """Verify the pact `render(interactions)` would write against the interactions' samples, and
    loosen, in place, what fails. Returns how many interactions were loosened. `passed`: checks that
    passed in an earlier write of the same recording (a periodic flush re-checks only what changed)."""
    loosened: set[int] = set()
    passed = set() if passed is None else passed
    unrunnable: set[str] = set()  # not remembered as passed: the next write says so again
    for round_ in range(ROUNDS):
        failures = _failures(interactions, render, passed | unrunnable, passed)
        if not failures:
            break
        for index, (sample, mismatches, key) in sorted(failures.items()):
            i = interactions[index]
            if all(m["type"] == "Error" for m in mismatches):
                # Not the response: the core could not make or send the request. Nothing to loosen.
                said = mismatches[0]["mismatch"]
                i.notes.append(f"self-check could not run against recorded response {sample + 1}: {said}")
                unrunnable.add(key)
                continue
            loosened.add(index)
            if round_ == ROUNDS - 1 or not _loosen(i, sample, mismatches):
                _status_and_content_type_only(i, sample, mismatches)
    return len(loosened)


def _failures(
    interactions: list, render: Callable[[list], dict], skip: set[str], passed: set[str]
) -> dict[int, tuple[int, list[dict], str]]:
    """interaction index -> (sample number, the core's mismatches, the check's key) for the first
    sample that fails."""
    document = render(interactions)
    order = sorted(range(len(interactions)), key=lambda n: interactions[n].key)  # as render() sorts
    replies: list[Sample] = []
    checks, owners, keys = [], [], []
    for position, index in enumerate(order):
        for number, sample in enumerate(interactions[index].samples):
            entry = copy.deepcopy(document["interactions"][position])
            entry.pop("key", None)
            entry.pop("pending", None)
            entry.pop("comments", None)
            entry["request"].pop("generators", None)  # the replay answers whatever is asked
            key = hashlib.sha256(json.dumps([entry, repr(sample)], sort_keys=True).encode()).hexdigest()
            if key in skip:
                continue
            entry["description"] = f"{len(replies)} {entry['description']}"
            entry.pop("providerStates", None)
            # The replay answers by this header (no state change round trip per check).
            headers = entry["request"].setdefault("headers", {})
            headers[_REPLY] = [str(len(replies))] if "type" in entry else str(len(replies))  # V4: lists
            checks.append(entry)
            owners.append((index, number))
            keys.append(key)
            replies.append(sample)
    if not checks:
        return {}
    results = _verify({**document, "interactions": checks}, replies)
    out: dict[int, tuple[int, list[dict], str]] = {}
    for error in results.get("errors", []):
        reply = _reply_number(error.get("interaction", ""))
        if reply is None or reply >= len(owners):
            continue
        index, number = owners[reply]
        mismatches = error.get("mismatch", {}).get("mismatches")
        if mismatches is None:  # the core could not check it at all (its message says why)
            mismatches = [{"type": "Error", "mismatch": error.get("mismatch", {}).get("message", "?")}]
        out.setdefault(index, (number, mismatches, keys[reply]))
    passed.update(key for key, (index, _) in zip(keys, owners, strict=True) if index not in out)
    return out


def _reply_number(interaction: str) -> int | None:
    match = re.search(r"(?:^| - )(\d+) ", interaction)
    return int(match.group(1)) if match else None


def _verify(document: dict, replies: list[Sample]) -> dict:
    """The core's verdict on every check: its errors, in the order of the checks. The checks are split
    between up to RUNS verifiers at once (the core's verifier spends ~15 ms per interaction, alone), all
    answered by one replay."""
    checks = document["interactions"]
    runs = max(1, min(RUNS, len(checks) // CHECKS_PER_RUN))
    parts = [{**document, "interactions": checks[k::runs]} for k in range(runs)]
    with _replay(replies) as replay, output_parked(), ThreadPoolExecutor(runs) as pool:
        results = list(pool.map(partial(_verify_part, replay_url=replay.url), parts))
    errors = [e for r in results for e in r.get("errors", [])]
    return {"errors": sorted(errors, key=lambda e: _reply_number(e.get("interaction", "")) or 0)}


def _verify_part(document: dict, replay_url: str) -> dict:
    with LocalServer(document, None, None) as local:
        return verdict(verifier(document["provider"]["name"], replay_url, local.pact_url))


def _replay(replies: list[Sample]) -> ThreadServer:
    """The recorded responses, each answered to the request that names it in the reply header."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            reply = replies[int(self.headers.get(_REPLY, 0))]
            self.send_response(reply.status)
            for name, value in reply.headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer  # noqa: N815
        do_PROPFIND = do_PROPPATCH = do_MKCOL = do_MKCALENDAR = do_REPORT = do_COPY = do_MOVE = _answer  # noqa: N815
        do_LOCK = do_UNLOCK = do_SEARCH = do_TRACE = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return ThreadServer(Handler)


# -- loosening ----------------------------------------------------------------------------------


def _loosen(i: Any, sample: int, mismatches: list[dict]) -> bool:
    """Loosen what each mismatch is about; False when one cannot be tied to a part of the response."""
    done: set[tuple] = set()  # the same rule fails for every element of an array: loosen it once
    for m in mismatches:
        said = f"self-check: recorded response {sample + 1} fails it (the core: {m.get('mismatch', '?')})"
        if m.get("type") == "HeaderMismatch" and m.get("key"):
            _drop_header(i, m["key"], said)
        elif m.get("type") == "BodyMismatch" and isinstance(i.response.body, (dict, list)):
            tokens = _tokens(m.get("path", ""))
            if (at := (*_generic(tokens), "missing" in m.get("mismatch", ""))) in done:
                continue
            done.add(at)
            missing = re.match(r"Actual map is missing the following keys: (.*)$", m.get("mismatch", ""))
            if missing:
                targets = [[*tokens, k.strip()] for k in missing.group(1).split(",")]
                if not all(_drop_field(i, target, said) for target in targets):
                    return False
            elif not (_type_only(i, tokens, said) or _drop_field(i, tokens, said)):
                return False
        else:
            return False
    return True


def _type_only(i: Any, tokens: list[str | int], said: str) -> bool:
    """The rule at the failing value, made a type rule (a field rule that names a type the recording
    contradicts, a format that does not hold for every value); False when it is one already."""
    rules, at = i.response.rules.get("body", {}), _generic(tokens)
    paths = [p for p in rules if _generic(_tokens(p)) == at and rules[p] != [{"match": "type"}]]
    if not paths:
        return False
    for path in paths:
        rules[path] = [{"match": "type"}]
        facts = i.evidence.setdefault("response.body", {}).setdefault(path, {})
        was = f"; it was: {facts['by']}" if facts.get("by") else ""
        facts["by"] = f"type only: {said}{was}"
        i.notes.append(f"response body {path} matched by type only: {said}{was}")
    return True


def _status_and_content_type_only(i: Any, sample: int, mismatches: list[dict]) -> None:
    said = "; ".join(m.get("mismatch", "?") for m in mismatches[:3])
    ctype = next((v for k, v in i.response.headers.items() if k.lower() == "content-type"), None)
    i.response.headers = {"Content-Type": ctype} if ctype else {}
    i.response.body = NO_BODY
    _forget(i.response, "body", lambda _: True)
    _forget(i.response, "header", lambda name: name not in i.response.headers)
    why = f"status and content type only: recorded response {sample + 1} fails the inferred rules (the core: {said})"
    i.evidence["response.body"] = {"$": {"by": why}}
    i.notes.append(f"response {why}")


def _drop_header(i: Any, name: str, said: str) -> None:
    for k in [k for k in i.response.headers if k.lower() == name.lower()]:
        del i.response.headers[k]
        _forget(i.response, "header", lambda name, k=k: name == k)
        facts = i.evidence.setdefault("response.headers", {}).setdefault(k, {})
        was = f"; it was: {facts['by']}" if facts.get("by") else ""
        facts["by"] = f"left out: {said}{was}"
        i.notes.append(f"response header {k} left out: {said}{was}")


def _forget(message: Any, category: str, gone: Callable[[str], bool]) -> None:
    """Remove the rules and generators of `category` whose key is `gone`, and an emptied category."""
    for part in (message.rules, message.generators):
        entries = part.get(category)
        if isinstance(entries, dict):
            for key in [key for key in entries if gone(key)]:
                del entries[key]
            if not entries:
                del part[category]


_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+|\*)\]|\['([^']*)'\]")


def _tokens(path: str) -> list[str | int]:
    """`$.a[2]['b c']` -> ["a", 2, "b c"]."""
    out: list[str | int] = []
    for name, index, quoted in _TOKEN.findall(path[1:] if path.startswith("$") else path):
        out.append((int(index) if index.isdigit() else index) if index else name or quoted)
    return out


def _drop_field(i: Any, tokens: list[str | int], said: str) -> bool:
    """Remove the deepest object member on `tokens` from the example (in every array element on the
    way: the core holds actual elements to them) and every body rule at or under it."""
    last_key = max((n for n, t in enumerate(tokens) if isinstance(t, str)), default=None)
    if last_key is None:
        return False
    tokens = tokens[: last_key + 1]
    if not _remove(i.response.body, tokens):
        return False
    prefix = _generic(tokens)
    _forget(i.response, "body", lambda path: _generic(_tokens(path))[: len(prefix)] == prefix)
    at = "$"
    for t in prefix:
        at = f"{at}[*]" if t == "*" else child_path(at, t) or f"{at}.{t}"
    evidence = i.evidence.setdefault("response.body", {})
    was = [evidence.pop(p).get("by") for p in list(evidence) if _generic(_tokens(p))[: len(prefix)] == prefix]
    said += "".join(f"; it was: {by}" for by in was[:1] if by)
    evidence[at] = {"by": f"left out: {said}"}
    i.notes.append(f"response body {at} left out: {said}")
    return True


def _generic(tokens: list[str | int]) -> list[str]:
    return ["*" if isinstance(t, int) or t == "*" else t for t in tokens]


def _remove(node: Any, tokens: list[str | int]) -> bool:
    head, rest = tokens[0], tokens[1:]
    if isinstance(node, list):
        # An index names an element of the actual response: the example's elements are its templates.
        found = [_remove(element, tokens if isinstance(head, str) else rest) for element in node]
        return any(found)
    if not isinstance(node, dict) or not isinstance(head, str) or head not in node:
        return False
    if not rest:
        del node[head]
        return True
    return _remove(node[head], rest)
