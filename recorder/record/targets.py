"""Which providers a recording is for, where it listens for each, and which provider a flow belongs to.

reverse:  --target NAME=URL (repeatable; or --provider NAME --target URL): one listener each
forward:  --forward --provider NAME=HOST[:PORT] (repeatable): one HTTP(S) proxy; traffic to other
          hosts passes through unrecorded
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from recorder.record.proxy import free_port

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Listener:
    provider: str
    mode: str  # the mitmproxy mode spec, also how its flows are recognised
    port: int
    upstream: str  # the provider's URL (reverse) or the hosts it stands for (forward)


def _name(value: str, option: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{option} {value!r}: a provider name is letters, digits, '.', '_' or '-' (it is used in the file name)"
        )
    return value


def parse_reverse(specs: list[str], provider: str | None, option: str = "--target") -> list[tuple[str, str]]:
    """(name, url) per --target; a bare URL takes the name from --provider. `option` is what errors call
    it (the pytest plugin's --pact-target)."""
    out = []
    for spec in specs:
        name, sep, url = spec.partition("=") if re.match(r"^[A-Za-z0-9._-]+=", spec) else ("", "", spec)
        if not sep:
            if not provider or len(specs) > 1:
                alone = " or with --provider NAME" if option == "--target" else ""
                raise ValueError(f"{option} {spec!r}: give the provider's name, as NAME=URL{alone}")
            name = provider
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{option} {spec!r}: expected an http(s) URL such as http://127.0.0.1:5001")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{option} {spec!r}: the port is not a number between 0 and 65535") from None
        out.append((_name(name, option), url.rstrip("/")))
    if len({n for n, _ in out}) != len(out):
        raise ValueError(f"{option}: each provider name can be given once")
    return out


def parse_forward(specs: list[str], option: str = "--provider") -> list[tuple[str, str, int | None]]:
    """(name, host, port or None) per --provider NAME=HOST[:PORT] in forward mode."""
    out = []
    for spec in specs:
        m = re.fullmatch(r"([^=]+)=([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?", spec)
        if not m:
            raise ValueError(
                f"{option} {spec!r}: in forward mode expected NAME=HOST[:PORT], e.g. user-service=users.internal:8443"
            )
        out.append((_name(m.group(1), option), m.group(2).strip("[]").lower(), int(m.group(3)) if m.group(3) else None))
    return out


def listeners(
    reverse: list[tuple[str, str]], forward: list[tuple[str, str, int | None]], port: int, host: str = "127.0.0.1"
) -> list[Listener]:
    """One listener per reverse target (ports port, port+1, ... or free ones), one for all forward ones."""
    out = []
    for i, (name, url) in enumerate(reverse):
        p = port + i if port else free_port(host)
        out.append(Listener(name, f"reverse:{url}@{p}", p, url))
    if forward:
        p = port + len(reverse) if port else free_port(host)
        hosts = ", ".join(f"{n}={h}" + (f":{pt}" if pt else "") for n, h, pt in forward)
        out.extend(Listener(n, f"regular@{p}", p, hosts) for n, _, _ in forward)
    return out


def router(reverse: list[Listener], forward: list[tuple[str, str, int | None]]) -> Callable[[object], str | None]:
    """The provider a flow is for: by the listener it came in on (reverse), else by host (forward)."""
    by_mode = {listener.mode: listener.provider for listener in reverse if listener.mode.startswith("reverse:")}

    def route(flow) -> str | None:
        if (name := by_mode.get(flow.client_conn.proxy_mode.full_spec)) is not None:
            return name
        host, port = flow.request.host.lower(), flow.request.port
        return next((n for n, h, p in forward if h == host and (p is None or p == port)), None)

    return route
