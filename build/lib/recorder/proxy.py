"""The lean in-process mitmproxy master behind `pact-recorder record`.

mitmdump loads ~34 default addons and about half of its time per request goes to dispatching hooks
through them; a recorder needs five (see shared reference notes), plus ours.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

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
    """Prints one line once every listener is bound, with the real address (port 0 -> a free one)."""

    def __init__(self, describe, startup: StartupErrors, on_failure) -> None:
        self.describe, self.startup, self.on_failure, self.failed = describe, startup, on_failure, False

    def running(self) -> None:
        self.startup.uninstall()
        if self.startup.records:
            self.failed = True
            self.on_failure()
            for r in self.startup.records:
                print(f"pact-recorder: error: {r.getMessage()}", flush=True)
            ctx.master.shutdown()
            return
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()
        print(self.describe(addrs), flush=True)


async def serve(
    modes: Sequence[str],
    listen_host: str,
    listen_port: int,
    addons: Sequence[object],
    addon_options: dict,
    describe,
    confdir: str,
    on_failure=lambda: None,
) -> int:
    """Run the proxy until SIGINT, SIGTERM or SIGHUP; 0 after a clean shutdown, 1 if it could not start."""
    startup = StartupErrors()
    startup.install()
    opts = options.Options(listen_host=listen_host, listen_port=listen_port, mode=list(modes), confdir=confdir)
    m = master.Master(opts)
    announce = Announce(describe, startup, on_failure)
    m.addons.add(
        core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(), *addons, announce
    )
    # lazy: a provider that is down gives the consumer a 502 and us an `error` hook, not a reset.
    opts.update(connection_strategy="lazy", **addon_options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, m.shutdown)
    try:
        await m.run()
    finally:
        startup.uninstall()
    return 1 if announce.failed else 0
