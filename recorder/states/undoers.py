"""How the consumer deleted what an operation made, where the operation is inside the request or is the path's
last word.

A GraphQL `mutation createPost` hands out an id; `mutation deletePost(id: ...)` sends it back (so do
`POST /api/createPad` and `POST /api/deletePad` with its `padID`). No path names what the create made, so no
DELETE of a path undoes it between two interactions, and what each interaction's setups made piles up (a later
read by title finds an earlier copy). The recording shows how the consumer deleted one thing an operation made;
each step of that operation is undone the same way, with the id it handed out in place:

    >>> from recorder.model import Exchange
    >>> from recorder.states.handed_out import HandedOut
    >>> handed, undoers = HandedOut(), Undoers()
    >>> def call(seq, body, answer):
    ...     ex = Exchange("POST", "/rpc", (), (("Content-Type", "application/json"),), body, 200,
    ...                   (("Content-Type", "application/json"),), answer)
    ...     step = handed.step(seq, ex, None)
    ...     undoers.see(step, ex, handed)
    ...     return step
    >>> made = call(1, b'{"method": "note.add", "params": {"text": "hi"}}', b'{"result": {"id": "n-17"}}')
    >>> _ = call(2, b'{"method": "note.remove", "params": {"id": "n-17"}}', b'{"result": true}')
    >>> other = call(3, b'{"method": "note.add", "params": {"text": "yo"}}', b'{"result": {"id": "n-18"}}')
    >>> undo, at, value = undoers.undo(other)
    >>> undo.body, at, value
    (b'{"method": "note.remove", "params": {"id": "n-18"}}', ('body', 'result', 'id'), 'n-18')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from recorder.model import NO_BODY, Exchange
from recorder.states.handed_out import HandedOut, about, words
from recorder.states.steps import Step, made_it, step_exchange
from recorder.values import Location, in_list, norm, query_and_body, request_operation, request_values, xml_rebound

UNDOERS_MAX = 1_000  # kinds of thing (operation, where its answer put the id) whose deletion is remembered
# The words an operation that deletes is named with (`deletePost`, `aria2.remove`, `lease4-del`, `DROP`).
_DELETES = frozenset({"delete", "del", "remove", "rm", "destroy", "drop", "purge", "erase", "unregister", "deregister"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def deletes(operation: str) -> bool:
    """Does an operation's name say it deletes?"""
    return any(w.lower() in _DELETES for w in _WORD.findall(operation))


def operation_of(ex: Exchange) -> str:
    """The operation a call names: inside the request (recorder.values.request_operation), else, for a POST, its
    path (RPC with the function as the path's last word: `/api/createPad`, `/experiments/delete`)."""
    return request_operation(ex) or (norm(ex.path) if ex.acts_as == "POST" else "")


class Undoers:
    """Per kind of thing an operation made (its operation, and where its answer handed the id out or where it sent
    the name it chose), the first successful request that deleted one such thing by sending that id or name
    back, and where it sent it."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, Location], tuple[Step, Location]] = {}

    def see(self, step: Step, ex: Exchange, handed: HandedOut, written: Mapping[str, list] | None = None) -> None:
        """A recorded exchange (`step` of it): where it is a successful delete by operation, what it sent back
        that an operation's write handed out says how that operation's things are deleted; so does a name an
        operation's write sent first (`written`: value -> [(that write, (its method, where it sent it), ...)]):
        the consumer chose it (`createPad padID=notes`, then `deletePad padID=notes`)."""
        operation = operation_of(ex)
        if not operation or not deletes(operation) or not made_it(step) or len(self._by) >= UNDOERS_MAX:
            return
        for where, value in (request_values(ex) | query_and_body(ex)).items():
            if where[0] not in ("body", "query", "form", "xml"):
                continue
            if (maker := handed.producer(value, about(ex, where))) is not None:
                places = [at for at, handed_value in maker.produced.items() if handed_value == value]
            elif (makers := (written or {}).get(value)) and (maker := makers[0][0]).acts_as == "POST":
                places = [("sent", *makers[0][1][1])]  # (where that write sent it)
            else:
                continue
            made_by = operation_of(step_exchange(maker))
            if maker.seq >= step.seq or not made_it(maker) or not made_by or deletes(made_by):
                continue
            if not words(made_by) & words(operation):
                continue  # (what it deletes is of another kind: a post's id that a user's id equals)
            for at in places:
                known = self._by.get((made_by, at))
                # (by one id, rather than a list of them: `deleteMany(ids: [...])`)
                if known is None or in_list(known[1]) and not in_list(where):
                    self._by[(made_by, at)] = (step, where)

    def undo(self, step: Step) -> tuple[Step, Location, str] | None:
        """The request that deletes what `step` made as the consumer deleted another such thing, with the id
        `step` handed out (or the name it sent, at `("sent", ...)`) in place; where it was, and the id. None
        where the recording deleted no such thing."""
        if not self._by or not made_it(step) or not (operation := operation_of(ex := step_exchange(step))):
            return None
        places = [*step.produced.items(), *((("sent", *at), v) for at, v in query_and_body(ex).items())]
        for at, value in places:
            if (found := self._by.get((operation, at))) is not None and found[0] is not step:
                deleter, where = found
                if (sent := _placed(deleter, where, value)) is not None:
                    return sent, at, value
        return None


def _placed(step: Step, where: Location, value: str) -> Step | None:
    """`step` sending `value` at `where` (its query, form, JSON or XML body) instead of what it sent there."""
    if where[0] == "query":
        return replace(step, query=tuple((k, value if k == where[1] else v) for k, v in step.query))
    text = step.body.decode("utf-8", "replace")
    if where[0] == "xml" and (sent := request_values(step_exchange(step)).get(where)) is not None:
        return replace(step, body=xml_rebound(text, {sent: value}).encode())
    if where[0] == "form":
        fields = parse_qsl(text, keep_blank_values=True)
        return replace(step, body=urlencode([(k, value if k == where[1] else v) for k, v in fields]).encode())
    body = step_exchange(step).request_json
    if where[0] != "body" or body is NO_BODY:
        return None
    try:
        return replace(step, body=json.dumps(_set(body, where[1:], value)).encode())
    except (KeyError, IndexError, TypeError):
        return None


def _set(body: Any, keys: tuple, value: str) -> Any:
    """`body` with the leaf at `keys` set to `value` (a number where a number was)."""
    if not keys:
        return int(value) if isinstance(body, int) and value.lstrip("-").isdigit() else value
    copy = dict(body) if isinstance(body, dict) else list(body)
    copy[keys[0]] = _set(body[keys[0]], keys[1:], value)
    return copy
