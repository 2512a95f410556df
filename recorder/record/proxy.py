"""The lean in-process mitmproxy master behind `pact-recorder record`, the pytest plugin and the API.

mitmdump loads ~34 default addons and about half of its time per request goes to dispatching hooks
through them; a recorder needs five (see shared reference notes), plus ours.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from mitmproxy import ctx, master, options
from mitmproxy import log as mitmlog
from mitmproxy.addons import core, next_layer, proxyserver, tlsconfig


class StartupErrors(mitmlog.MitmLogHandler):
    """Collects ERROR records logged while the proxy starts (a port in use, a bad mode)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Announce:
    """Once every listener is bound: `on_ready(addresses)`; if the start logged errors: `on_failure(messages)`."""

    def __init__(self, startup: StartupErrors, on_ready: Callable, on_failure: Callable) -> None:
        self.startup, self.on_ready, self.on_failure, self.failed = startup, on_ready, on_failure, False

    def running(self) -> None:
        self.startup.uninstall()
        if self.startup.records:
            self.failed = True
            self.on_failure([r.getMessage() for r in self.startup.records])
            ctx.master.shutdown()
            return
        self.on_ready(ctx.master.addons.get("proxyserver").listen_addrs())


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (mitmproxy refuses port 0 for more than one listener on a host)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def lean_master(
    modes: Sequence[str],
    listen_host: str,
    confdir: str,
    addons: Sequence[object],
    addon_options: dict,
    on_ready: Callable,
    on_failure: Callable,
    keep_host_header: bool = False,
) -> tuple[master.Master, Announce]:
    """A master with only what a recorder needs. Must be built inside the event loop that will run it."""
    startup = StartupErrors()
    startup.install()
    opts = options.Options(listen_host=listen_host, mode=list(modes), confdir=confdir)
    m = master.Master(opts)
    announce = Announce(startup, on_ready, on_failure)
    m.addons.add(
        core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(), *addons, announce
    )
    # lazy: a provider that is down gives us an `error` hook (the addon closes the consumer's connection),
    # not a reset before the request was read.
    # keep_host_header: the provider builds links and redirects from the Host the consumer used (the
    # proxy), so the follow-up requests come back through the recorder too.
    # validate_inbound_headers off: a header name that is UTF-8 (`x-object-meta-👍`) reaches the provider, which
    # decides, as it would directly; the check guards shared proxies against request smuggling, and a recorder
    # sits in front of one provider on 127.0.0.1 for one consumer.
    opts.update(
        connection_strategy="lazy",
        keep_host_header=keep_host_header,
        validate_inbound_headers=False,
        **addon_options,
    )
    return m, announce


def run(main: Coroutine) -> Any:
    """asyncio.run, on uvloop where it is installed: the proxy's work per new connection is ~15% less with it
    (bench/latency.py; per request on a kept-alive connection it is the same)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def serve(*args, **kwargs) -> int:
    """Run lean_master(*args, **kwargs) until SIGINT, SIGTERM or SIGHUP; 0 after a clean shutdown, 1 if it
    could not start."""
    m, announce = lean_master(*args, **kwargs)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, m.shutdown)
    try:
        await m.run()
    finally:
        announce.startup.uninstall()
    return 1 if announce.failed else 0


def upstream_tls(ca: str | Path | None, insecure: bool) -> dict:
    """mitmproxy's options for trusting HTTPS providers (self-signed ones in test environments)."""
    options: dict = {"ssl_insecure": True} if insecure else {}
    if ca is not None:
        if not Path(ca).is_file():
            raise ValueError(f"{ca}: no such file")
        options["ssl_verify_upstream_trusted_ca"] = str(Path(ca).resolve())
    return options
