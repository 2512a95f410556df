"""pytest plugin: record a consumer's test suite, unchanged, into pacts. Off unless --pact-record.

    pytest --pact-record --pact-consumer web --pact-target users=http://127.0.0.1:5001 --pact-out pacts
        reverse proxies for the session; the tests get their URLs from the `pact_recorder` fixture
        (`pact_recorder.url("users")`), from PACT_RECORDER_URL_USERS, or from the variable that
        `--pact-env users=USERS_URL` names (so a suite that reads its base URL from one records as it is)
    pytest --pact-record --pact-consumer web --pact-forward --pact-provider users=users.internal:8080
        a forward proxy: HTTP_PROXY/HTTPS_PROXY point at it, NO_PROXY no longer names the recorded hosts,
        and REQUESTS_CA_BUNDLE/SSL_CERT_FILE hold the system CAs plus the recorder's CA
    pytest --pact-replay pacts/web-users.json --pact-env users=USERS_URL
        no provider: the recorded pact answers (`pact-recorder replay`), its URL reaches the tests the same way

Every option can also be set in pytest.ini / pyproject.toml (pact_record, pact_consumer, pact_targets,
pact_providers, pact_env, pact_out, pact_rules, pact_spec, pact_forward, pact_replay, pact_confdir).
mitmproxy's CA is kept in its own configuration folder (~/.mitmproxy unless --pact-confdir), never
beside the pacts. Each exchange remembers the test that made it. Under pytest-xdist every worker
records; the controller merges the workers' parts in test order, so the files are the same as a serial
run's.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

PARTS = ".pact-recorder-parts"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pact-recorder", "record the traffic of the tests into Pact files")
    group.addoption("--pact-record", action="store_true", default=None, help="record (off unless given)")
    group.addoption("--pact-consumer", help="the consumer's name")
    group.addoption("--pact-target", action="append", default=[], metavar="NAME=URL", help="a provider to proxy")
    group.addoption("--pact-forward", action="store_true", default=None, help="run a forward proxy instead")
    group.addoption(
        "--pact-provider",
        action="append",
        default=[],
        metavar="NAME=HOST[:PORT]",
        help="with --pact-forward: traffic to HOST is recorded into NAME's pact",
    )
    group.addoption(
        "--pact-env",
        action="append",
        default=[],
        metavar="NAME=VARIABLE",
        help="set VARIABLE to the proxy URL of target NAME for the session",
    )
    group.addoption("--pact-out", help="folder for the pacts (default pacts)")
    group.addoption("--pact-rules", action="append", default=[], metavar="FILE", help="rule files")
    group.addoption("--pact-spec", choices=("v4", "v3"), help="Pact specification (default v4)")
    group.addoption("--pact-no-default-rules", action="store_true", default=None, help="only your rule files")
    group.addoption("--pact-merge", action="store_true", default=None, help="keep what the existing pact has")
    group.addoption("--pact-pending", action="store_true", default=None, help="mark new interactions pending")
    group.addoption("--pact-upstream-ca", metavar="FILE", help="trust HTTPS providers signed by this CA")
    group.addoption("--pact-upstream-insecure", action="store_true", default=None, help="trust any HTTPS provider")
    group.addoption(
        "--pact-replay",
        action="append",
        default=[],
        metavar="PACT",
        help="instead of a provider, the recorded pact answers (offline); its URL reaches the tests as when recording",
    )
    group.addoption(
        "--pact-prune",
        action="store_true",
        default=None,
        help="after recording, run this same suite against replays of the pacts to leave out the response "
        "fields it never uses (as `pact-recorder prune`)",
    )
    group.addoption(
        "--pact-confdir",
        metavar="DIR",
        help="mitmproxy's configuration folder, where its CA (with the private key) lives (default ~/.mitmproxy)",
    )
    for name, kind, help_ in (
        ("pact_record", "bool", "record"),
        ("pact_consumer", "string", "consumer name"),
        ("pact_targets", "linelist", "NAME=URL lines"),
        ("pact_forward", "bool", "forward"),
        ("pact_providers", "linelist", "NAME=HOST lines"),
        ("pact_env", "linelist", "NAME=VARIABLE lines"),
        ("pact_out", "string", "output folder"),
        ("pact_rules", "linelist", "rule files"),
        ("pact_spec", "string", "v4 or v3"),
        ("pact_no_default_rules", "bool", "only the given rule files"),
        ("pact_merge", "bool", "merge into the existing pact"),
        ("pact_pending", "bool", "mark new interactions pending"),
        ("pact_upstream_ca", "string", "CA file for HTTPS providers"),
        ("pact_upstream_insecure", "bool", "trust any HTTPS provider"),
        ("pact_replay", "linelist", "pacts to replay"),
        ("pact_prune", "bool", "prune the recorded pacts with this suite"),
        ("pact_confdir", "string", "mitmproxy's configuration folder (default ~/.mitmproxy)"),
    ):
        parser.addini(name, help_, type=kind)


def _option(config: pytest.Config, name: str):
    """The command-line value, else the ini value."""
    value = config.getoption(name)
    if value not in (None, []):
        return value
    ini = config.getini({"pact_target": "pact_targets", "pact_provider": "pact_providers"}.get(name, name))
    return ini if ini not in ("", [], False) else None


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise pytest.UsageError(f"--{option.replace('_', '-')} {value!r}: expected NAME=VALUE")
        out[name] = rest
    return out


def _worker(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def _controller_with_workers(config: pytest.Config) -> bool:
    return _worker(config) is None and bool(getattr(config.option, "numprocesses", None))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if pacts := _option(config, "pact_replay"):
        forward = _pairs(_option(config, "pact_provider"), "pact_provider") if _option(config, "pact_forward") else {}
        confdir = _option(config, "pact_confdir") or "~/.mitmproxy"
        replay = ReplayState(pacts, _pairs(_option(config, "pact_env"), "pact_env"), forward, confdir)
        config.stash[REPLAY] = replay
        config.pluginmanager.register(replay, "pact-recorder-replay")
    if not _option(config, "pact_record"):
        return
    consumer = _option(config, "pact_consumer")
    if not consumer:
        raise pytest.UsageError("--pact-record needs --pact-consumer NAME (or pact_consumer in the ini file)")
    out = Path(_option(config, "pact_out") or "pacts").resolve()
    targets = _pairs(_option(config, "pact_target"), "pact_target")
    forward = _pairs(_option(config, "pact_provider"), "pact_provider") if _option(config, "pact_forward") else {}
    if not targets and not forward:
        raise pytest.UsageError(
            "--pact-record needs --pact-target NAME=URL, or --pact-forward with --pact-provider NAME=HOST[:PORT]"
        )
    from recorder.record.targets import parse_forward, parse_reverse
    from recorder.rules import RuleError

    try:
        # Checked here too, so that a mistake is said with this plugin's option names.
        parse_reverse([f"{n}={u}" for n, u in targets.items()], None, "--pact-target")
        parse_forward([f"{n}={h}" for n, h in forward.items()], "--pact-provider")
        state = PluginState(config, consumer, out, targets, forward)
    except (RuleError, ValueError) as e:  # a user's mistake: said as such, not as an internal error
        raise pytest.UsageError(f"pact-recorder: {e}") from None
    config.stash[STATE] = state
    config.pluginmanager.register(state, "pact-recorder-state")


class PluginState:
    def __init__(self, config, consumer, out, targets, forward):
        from recorder.session import RecordingSession

        self.config, self.out, self.consumer = config, out, consumer
        self.providers = [*targets, *forward]
        self.lines: list[str] = []
        self.parts = out / PARTS
        worker = _worker(config)
        if worker is None:  # the controller (or a run without xdist): no part of an earlier run counts
            shutil.rmtree(self.parts, ignore_errors=True)
        self.session = RecordingSession(
            consumer,
            targets=targets,
            forward=forward,
            out=out,
            rules=_option(config, "pact_rules") or [],
            spec=_option(config, "pact_spec") or "v4",
            default_rules=not _option(config, "pact_no_default_rules"),
            # Never under `out`: the CA's private key must not land in the folder people commit and publish.
            confdir=_option(config, "pact_confdir") or "~/.mitmproxy",
            write=False,
            merge=bool(_option(config, "pact_merge")),
            pending=bool(_option(config, "pact_pending")),
            upstream_ca=_option(config, "pact_upstream_ca"),
            upstream_insecure=bool(_option(config, "pact_upstream_insecure")),
            part=self.parts / f"{worker or 'controller'}.part",
            # The workers' parts are read by the controller: its key reaches them through xdist's channel.
            key=bytes.fromhex(config.workerinput[KEY]) if worker is not None else None,
        )
        self.index: dict[str, int] = {}
        self.recording = not _controller_with_workers(config)  # the xdist controller only merges
        if self.recording:
            self.session.__enter__()
            self._environment(_pairs(_option(config, "pact_env"), "pact_env"), targets, forward)

    def _environment(self, env: dict[str, str], targets: dict, forward: dict) -> None:
        _export({name: self.session.url(name) for name in targets}, env)
        if forward:
            _through_proxy(self.session, forward)

    # -- hooks --------------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:  # pytest-xdist's, in the controller, for each worker
        node.workerinput[KEY] = self.session.key.hex()

    def pytest_collection_modifyitems(self, items) -> None:
        self.index = {item.nodeid: n for n, item in enumerate(items)}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        self.session.tag = (self.index.get(item.nodeid, len(self.index)), item.nodeid)
        try:
            return (yield)
        finally:
            self.session.tag = ()

    def pytest_sessionfinish(self, session) -> None:
        if self.recording:
            self.session.__exit__(None, None, None)
        if _worker(self.config) is not None:  # an xdist worker: its part is the controller's to record
            return
        try:
            self.lines = self.session.write_pacts(sorted(self.parts.glob("*.part")))
        finally:
            shutil.rmtree(self.parts, ignore_errors=True)
        if _option(self.config, "pact_prune") and session.exitstatus == 0:
            self.lines += self._prune()

    def _prune(self) -> list[str]:
        """--pact-prune: this suite, run again without recording, against replays of what it recorded."""
        from recorder.files import pact_file
        from recorder.tools.prune import SuiteError, prune_file

        env = _pairs(_option(self.config, "pact_env"), "pact_env")
        command = [sys.executable, "-m", "pytest", *_without_pact_options(self.config), "-o", "pact_record=false"]
        lines = []
        for provider in self.providers:
            pact = pact_file(self.out, self.consumer, provider)
            if not pact.exists():
                continue
            variables = [env[provider]] if provider in env else []
            try:
                lines += [f"prune {provider}: {line}" for line in prune_file(pact, command, variables, pact)]
            except (SuiteError, ValueError) as e:
                lines.append(f"prune {provider}: not pruned: {e}")
        return lines

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.lines:
            terminalreporter.section("pact-recorder")
            for line in self.lines:
                terminalreporter.write_line(line)


def _without_pact_options(config: pytest.Config) -> list[str]:
    """The run's own arguments without this plugin's options (a prune run must not record again)."""
    flags = {
        f"--{name.replace('_', '-')}"
        for name in ("pact_record", "pact_forward", "pact_no_default_rules", "pact_merge", "pact_pending",
                     "pact_upstream_insecure", "pact_prune")
    }  # fmt: skip
    args, out = list(config.invocation_params.args), []
    while args:
        arg = args.pop(0)
        if not arg.startswith("--pact-"):
            out.append(arg)
        elif arg not in flags and "=" not in arg and args:
            args.pop(0)  # the option's value
    return out


class EnvUrls:
    """Provider URLs from PACT_RECORDER_URL_<NAME>: a run that `prune` (or a replay started by hand)
    points at its provider without this plugin recording or replaying."""

    def url(self, name: str) -> str:
        from recorder.tools.replay import env_name

        if (url := os.environ.get(env_name(name))) is None:
            pytest.skip(f"not recording: run pytest with --pact-record (or set {env_name(name)})")
        return url


def _through_proxy(session, forward: dict[str, str]) -> None:
    """Forward mode: the session's proxy in HTTP(S)_PROXY for the providers' hosts, its CA trusted."""
    from recorder.record.ca import write_bundle

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ[var] = session.proxy_url
    hosts = {h.split(":")[0] for h in forward.values()}
    for var in ("NO_PROXY", "no_proxy"):
        kept = [h for h in os.environ.get(var, "").split(",") if h.strip() and h.strip() not in hosts]
        os.environ[var] = ",".join(kept)
    confdir = Path(session.confdir).expanduser()
    bundle = write_bundle(confdir, confdir / "pact-recorder-ca-bundle.pem")
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = str(bundle)


def _export(urls: dict[str, str], env: dict[str, str]) -> None:
    """Each provider's URL in PACT_RECORDER_URL_<NAME>, and in the variable --pact-env names for it."""
    from recorder.tools.replay import env_name

    for name, url in urls.items():
        os.environ[env_name(name)] = url
        if name in env:
            os.environ[env[name]] = url


class ReplayState:
    """--pact-replay: each pact answered on a free 127.0.0.1 port for the session (recorder/replay.py)."""

    def __init__(self, pacts: list[str], env: dict[str, str], forward: dict[str, str], confdir: str):
        from contextlib import ExitStack

        from recorder.files import load_pact
        from recorder.session import RecordingSession
        from recorder.tools.replay import replaying

        self.servers, self._stack = {}, ExitStack()
        try:
            for pact in pacts:
                doc = load_pact(Path(pact))
                self.servers[doc["provider"]["name"]] = self._stack.enter_context(replaying(doc))
            if forward:  # the consumer reaches the providers by host, through a proxy that sends them here
                unknown = sorted(set(forward) - set(self.servers))
                if unknown:
                    raise ValueError(f"--pact-provider {unknown[0]!r}: no --pact-replay pact has that provider")
                urls = {name: server.url for name, server in self.servers.items()}
                proxy = RecordingSession("replay", forward=forward, confdir=confdir, write=False, answer_from=urls)
                _through_proxy(self._stack.enter_context(proxy), forward)
        except (ValueError, RuntimeError) as e:
            self._stack.close()
            raise pytest.UsageError(f"--pact-replay {e}") from None
        _export({name: server.url for name, server in self.servers.items()}, env)

    def url(self, name: str) -> str:
        return self.servers[name].url

    def pytest_sessionfinish(self, session) -> None:
        self._stack.close()

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.section("pact-recorder replay")
        for name, server in self.servers.items():
            for line in server.replay.summary():
                terminalreporter.write_line(f"[{name}] {line}")


STATE = pytest.StashKey[PluginState]()
KEY = "pact_recorder_key"  # in xdist's workerinput: the key of the parts
REPLAY = pytest.StashKey[ReplayState]()


@pytest.fixture(scope="session")
def pact_recorder(request):
    """The recording session: `pact_recorder.url(NAME)` for reverse targets, `.proxy_url` for forward
    (under --pact-replay: `.url(NAME)` of the replay)."""
    state = request.config.stash.get(STATE, None) or request.config.stash.get(REPLAY, None)
    if isinstance(state, ReplayState):
        return state
    if state is None:
        return EnvUrls()
    return state.session
