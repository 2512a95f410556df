"""A recorded request as a setup sends it again: a step of the timeline, with the values its response
handed out."""

from __future__ import annotations

from dataclasses import dataclass, field

from recorder.model import Exchange
from recorder.values import READ, Location, request_values

# Request headers a setup step does not send: transport, and conditions (a setup wants the effect).
STEP_HEADERS_DROPPED = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "accept-encoding",
        "keep-alive",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "expect",
        "user-agent",
    }
)


@dataclass(eq=False)
class Step:
    """One recorded request that a setup sends again, with the values its response handed out."""

    seq: float  # its place in the recording (an analogue's: just after the step it copies)
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str | None
    status: int
    produced: dict[Location, str] = field(default_factory=dict)  # where in its response -> value
    secrets: tuple = ()  # named placeholders its request carries (see redact)
    issued: tuple = ()  # secrets its response handed out: where, and their names
    creates: str = ""  # for a POST that made an item: that item's path
    named: str = ""  # ...and its path by the name the request sent, where the path above has its id
    after: tuple = ()  # steps that made its containers and what a header of it names (a copy's source), then
    unrecorded: str = ""  # the size of a request body streamed past unrecorded (over --max-body): none to send
    kept: str = ""  # the SHA-256 of that body where it was kept beside the states file: that to send
    like: str = ""  # a copy of the step that made this item, for an item never seen made (see analogues)
    meant: str = ""  # the method a POST tunnelled (Exchange.meant): sent as recorded, read as this one
    operation_params: tuple = ()  # what names its operation outside its body (Exchange.operation_params)

    @property
    def acts_as(self) -> str:
        return self.meant or self.method

    @classmethod
    def of(cls, seq: int, ex: Exchange, produced: dict[Location, str]) -> Step:
        headers = tuple((k, v) for k, v in ex.request_headers if k.lower() not in STEP_HEADERS_DROPPED)
        return cls(
            seq,
            ex.method.upper(),
            ex.path,
            ex.query,
            headers,
            ex.request_body,
            ex.request_header("content-type"),
            ex.status,
            produced,
            ex.secrets,
            ex.issued,
            unrecorded=(ex.request_header("content-length") or "?") if "request" in ex.streamed else "",
            kept=ex.kept_body,
            meant=ex.meant,
            operation_params=ex.operation_params,
        )


def step_request_values(step: Step) -> dict[Location, str]:
    """request_values for a recorded step (its request as a setup sends it)."""
    return request_values(step_exchange(step))


def step_exchange(step: Step) -> Exchange:
    return Exchange(
        step.method,
        step.path,
        step.query,
        step.headers,
        step.body,
        0,
        (),
        b"",
        meant=step.meant,
        operation_params=step.operation_params,
    )


def made_it(step: Step) -> bool:
    """Did the step write successfully (what it made is there)?"""
    return step.acts_as not in READ and 200 <= step.status < 300
