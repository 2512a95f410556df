"""Record conan_server (the Conan C/C++ package repository server: its v2 REST API, its users and JWT tokens)
while the real conan 2 CLI runs a package author's, a user's and a reader's session against it, then verify
the pact against a fresh, empty conan_server.

    .venv/bin/python bench/thirdparty/conan.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more, on a fresh server, with the least the message asks for: VERIFY_ARGS (everything after `--`, which
make that second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names, as the session's
author gives it: the recorder numbers a header's distinct values in the order they were first sent
(`authorization`, `authorization_2`, ...), so among the names the recording shows with one scheme the first
is the session's first credential of that scheme, and so on (SENT): Basic credentials (the refused login's, the
author's, the reader's) are given as they are, a JWT (the author's, its second after a logout and a new login,
the reader's) as a new login of that account on the fresh server gets it (the recorded ones were signed with
another server's secret).

What it does, each phase timed:
  setup    under .venv/thirdparty/conan/: a venv with conan-server (the provider) and one with conan (the
           consumer), every package pinned, installed once per pin set (conan-server ships its own copy of
           conan's modules, of its own version: the two do not share a venv).
  direct   a fresh conan_server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh conan_server, `pact-recorder record --consumer conan --provider conan-server` in front
           of it, the same session with the recorder's URL as the remote's URL; SIGTERM makes it write
           OUT/conan-conan-server.json.
  verify   a third fresh conan_server (empty: no recipe), `pact-recorder verify --states-from-recording`; then,
           refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (commands with their expected exit code through the recorder and directly, how many
gave the same exit code both ways, whether a password or a JWT reached any file the recorder wrote, exchanges,
interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each conan_server has a new CONAN_SERVER_HOME with a server.conf of the harness's: the port a free one, new
random `jwt_secret` and `updown_secret`, no `host_name` and no `ssl_enabled` (so its public URL is the relative
`v2`, right behind a proxy), `[write_permissions] */*@*/*: author`, `[read_permissions] */*@*/*: *` (anonymous
reads), users `author` and `reader`. It is conan_server's own launcher (`ServerLauncher`) served on 127.0.0.1
(the `conan_server` script serves on 0.0.0.0), bottle on wsgiref.

The API (v2, as conan 2 speaks it): `GET /v1/ping` and `/v2/ping` (capabilities), `GET /v2/users/authenticate`
with Basic credentials (answers the JWT as a text/plain body; 401 for a wrong password), `GET
/v2/users/check_credentials` (Bearer), `GET /v2/conans/search?q=`, and per reference
`/v2/conans/NAME/VERSION/USER|_/CHANNEL|_/`: `latest`, `revisions`, `revisions/RREV/files[/FILE]` (GET, PUT
of conanfile.py, conanmanifest.txt, conan_sources.tgz), `revisions/RREV/search`, `revisions/RREV/packages/PKGID/
{latest,revisions}`, `.../packages/PKGID/revisions/PREV/files[/FILE]` (conaninfo.txt, conanmanifest.txt,
conan_package.tgz), DELETE of a recipe revision and of a package revision. Revisions and package ids are hashes
the client computes from the files, the same in every phase (fixed recipes, a fixed profile); conan_server
counts a revision as there once its conanmanifest.txt (the last file of an upload) arrives.

The session (each command one "test", passed when it has its expected exit code: 0, or 1 for a refusal it
provokes on purpose) runs the CLI with a CONAN_HOME per person, new and empty in every phase (only a
global.conf `core:non_interactive=True` and a fixed default profile), HOME the phase's folder, no proxy; the
password comes in CONAN_PASSWORD_LOCAL, never on the command line; conan's default remote is removed before
any command that would use it, so nothing leaves the machine. The author: `remote remove` of the default
remote, `remote add local URL`, a search of the empty remote, a login with a wrong password (1) and one with
the right one; `conan new header_lib` for hello 1.0, 1.1, 2.0 and solo 1.0 and `conan create -tf=` of each
(nothing compiled), a second revision of hello/1.0 (a header changed), a tiny recipe of the harness's (greet:
settings, a file written in package(), no build) as 0.1 (Release and Debug binaries), 0.2 and
0.1@acme/stable, and app/0.1 requiring `greet/[>=0.1 <1]` and `hello/[>=1.0 <2]`; uploads (`hello/1.0#*`:
both revisions, a recipe alone then its binary, `greet/*`, `greet/*@acme/stable`, app, one already there);
a logout, an upload refused without a login (1: anonymous may not write, non-interactive), a login and the
upload; `search` and `list` with patterns (`*`, `hello/*`, `hello/1.0#*`, `hello/1.1:*`, `greet/0.1:*#*`,
`greet/*@acme/stable`, json, a name none has, a revision none has). The user, anonymous in a new cache:
`install --requires=app/0.1` (the ranges resolved on the remote), `install` of a conanfile.txt with a range,
`download greet/0.1:*`, the old revision of hello/1.0, the cache cleared (`remove "*"`) and installs again, and
the refusals (1): a recipe none has (install and download), a version none has, a binary none has (Debug of
greet/0.2). The reader (logged in): a download, then an upload `--force` and a remove refused (403). The
author removes a recipe revision (hello/1.0's first), a binary (greet/0.1's Debug), binaries by package query
(`greet/0.2:* -p build_type=Release`), a recipe with user and channel, `solo/*`, a recipe none has (1), and
lists again; the user, the cache cleared, is refused the removed revision, binary and recipe (1) and gets
hello/1.0's newer revision. Every process started is stopped on the way out, on failure and on Ctrl-C or
SIGTERM too.

First contact (conan_server 2.33.0, conan 2.34.0, Python 3.12; two runs alike): 79 commands, 79 / 79 with
their expected exit code both directly and through the recorder (the same exit code each); 305 exchanges, 305
recorded, 161 interactions (149 with a provider state: one interaction per endpoint and recipe, since NAME and
VERSION stay literal in the paths). Neither the pact, nor the states file, nor the record log holds a password,
Basic credentials, a session JWT or anything shaped like a JWT (181 `Authorization` headers and the 3 login
answers redacted). verify with `--states-from-recording` alone: exit 2, four secrets asked for:
`authorization_2` (1 request, the login: the author's Basic credentials), `authorization_3` (105),
`authorization_4` (27) and `authorization_6` (15): the three JWTs the logins handed out (not the refused
login's Basic credentials: its 401 comes without them; nor the reader's: its login folds into the author's). With
those four (Basic as recorded, each JWT from a new login on the fresh server): **142 / 161 green**. The 19
failures, each counted once by its first cause:
  - an absence that earlier setups ended for good (their undo refused): 15. A `404` read recorded before an
    upload (conan checks `revisions` and a binary's `packages/PKGID/revisions` before it uploads) or after a removal
    (`acme/stable/latest`), in a state "... does not exist", answered 200: setups of the interactions verified
    before it (verify's order, by path) replayed the recorded file PUTs of that recipe, and each undo (DELETE of the
    PUT's own file path) was refused 405: conan_server deletes only whole recipe revisions and package
    revisions, whose DELETEs the recording has. General fix: where a write's own path refuses the undo, undo it
    through the recorded DELETE of its nearest enclosing resource (`.../revisions/{id}` for
    `.../revisions/{id}/files/F`), and set up a "does not exist" state with that DELETE as well (or verify
    interactions in recorded order).
  - a setup that replays only part of a multi-request write: 3. A state "revision exists" or "item exists" is
    set up by the first recorded PUT naming the revision (conan_sources.tgz) alone, while the server registers a
    revision only when its conanmanifest.txt arrives: `GET solo/1.0/_/_/revisions` 200 -> 404, `GET
    hello/1.0/.../revisions/{id}/search` (that revision removed by an earlier interaction, refilled with one
    file) and `DELETE solo/1.0/.../revisions/{id}` 200 -> 500. General fix: a state's setup replays every
    recorded write below the resource it names (the whole upload: each PUT under `revisions/{id}/`, in recorded
    order), not only the first that carries the id.
  - a read of a parent with no state: 1. `GET /v2/conans/app/0.1/_/_/latest returns 200` has no provider
    state (no id in its path), verified before anything made app/0.1: 404. General fix: infer an "exists" state
    for a read from the recorded writes below its path (a common path prefix), not only from ids in the path.
    (`greet/0.1/_/_/latest` and the like, also stateless, are green only because earlier setups made them.)
And what made verify ask at all: a login's JWT handed out as the whole text/plain body of the login's answer is
redacted there but not taken as issued, so verify asks for each JWT instead of taking it fresh from the replayed
login, as it does for a token in a JSON field, a header or a cookie; general fix: a whole-body text token
(redacted as "response body (text)") that later requests send back (`Bearer TOKEN`) is an issued secret.
One run: 3-4 min (direct ~100 s, record 85-140 s, verify 2-3 s, verify2 ~28 s); the setup, once, ~55 s.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

CONAN_SERVER = "2.33.0"
CONAN = "2.34.0"
SERVER_PINS = [
    f"conan-server=={CONAN_SERVER}",
    # what it resolves to
    "bottle==0.13.5", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "colorama==0.4.6",
    "distro==1.9.0", "fasteners==0.20", "idna==3.21", "Jinja2==3.1.6", "MarkupSafe==3.0.4", "patch-ng==1.19.1",
    "pluginbase==1.0.1", "PyJWT==2.15.1", "python-dateutil==2.9.0.post0", "PyYAML==6.0.4", "requests==2.34.2",
    "six==1.17.0", "truststore==0.10.5", "urllib3==2.8.0",
]  # fmt: skip
CLIENT_PINS = [
    f"conan=={CONAN}",
    # what it resolves to
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "colorama==0.4.6", "distro==1.9.0",
    "fasteners==0.20", "idna==3.21", "Jinja2==3.1.6", "MarkupSafe==3.0.4", "patch-ng==1.19.1", "PyYAML==6.0.4",
    "requests==2.34.2", "truststore==0.10.5", "urllib3==2.8.0",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "conan"
SERVER_VENV = HOME / "server"  # conan-server ships its own copy of conan's modules: a venv of its own
CLIENT_VENV = HOME / "client"
CONAN_BIN = CLIENT_VENV / "bin" / "conan"
CONSUMER, PROVIDER = "conan", "conan-server"
AUTHOR, AUTHOR_PASSWORD = "author", "conan-harness-pw-7f3a9c1e"  # may write every recipe
READER, READER_PASSWORD = "reader", "conan-harness-rd-52b8e0d4"  # may read, not write
WRONG_PASSWORD = "conan-harness-wrong-0000"
PASSWORDS = (AUTHOR_PASSWORD, READER_PASSWORD, WRONG_PASSWORD)
REMOTE = "local"
COMMAND_SECONDS = 180

SERVER_CONF = """[server]
jwt_secret: {jwt_secret}
jwt_expire_minutes: 120
port: {port}
disk_storage_path: ./data
authorize_timeout: 1800
disk_authorize_timeout: 1800
updown_secret: {updown_secret}

[write_permissions]
*/*@*/*: {author}

[read_permissions]
*/*@*/*: *

[users]
{author}: {author_password}
{reader}: {reader_password}
"""

# conan_server's own launcher serves on 0.0.0.0; the same launcher, served on 127.0.0.1
RUN_SERVER = (
    "import sys; from conans.server.launcher import ServerLauncher; "
    "ServerLauncher(server_dir=sys.argv[1]).server.run(host='127.0.0.1')"
)

PROFILE = """[settings]
arch=x86_64
build_type=Release
compiler=gcc
compiler.cppstd=gnu17
compiler.libcxx=libstdc++11
compiler.version=12
os=Linux
"""

GREET = '''import os

from conan import ConanFile
from conan.tools.files import save


class Greet(ConanFile):
    """A tiny package with a binary per build type and nothing to compile."""

    name = "greet"
    settings = "os", "arch", "build_type"
    package_type = "application"

    def package(self):
        text = f"greet {self.version} for {self.settings.os} {self.settings.build_type}\\n"
        save(self, os.path.join(self.package_folder, "share", "greet.txt"), text)
'''

APP = '''import os

from conan import ConanFile
from conan.tools.files import save


class App(ConanFile):
    """An application whose requirements are version ranges over the other two."""

    name = "app"
    settings = "os", "arch", "build_type"
    package_type = "application"

    def requirements(self):
        self.requires("greet/[>=0.1 <1]")
        self.requires("hello/[>=1.0 <2]")

    def package(self):
        save(self, os.path.join(self.package_folder, "share", "app.txt"), f"app {self.version}\\n")
'''

CONSUMER_TXT = """[requires]
hello/[>=1.0 <2]
greet/0.1
"""


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """The server's venv and the client's under HOME, every package pinned, installed once per pin set."""
    stamp = HOME / ".installed"
    want = "\n".join([*SERVER_PINS, "--", *CLIENT_PINS])
    ready = (SERVER_VENV / "bin" / "conan_server").is_file() and CONAN_BIN.is_file()
    if stamp.is_file() and stamp.read_text() == want and ready:
        return
    print(f"setup: installing conan-server=={CONAN_SERVER} and conan=={CONAN} into {HOME.relative_to(ROOT)}",
          flush=True)  # fmt: skip
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    for venv, pins in ((SERVER_VENV, SERVER_PINS), (CLIENT_VENV, CLIENT_PINS)):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        common.pip(venv / "bin" / "python", "install", *pins)
    stamp.write_text(want)


# --- conan_server ------------------------------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    """The environment without any conan, python or proxy setting of the machine's; HOME is `home`."""
    drop = ("CONAN", "PYTHON", "VIRTUAL_ENV", "REQUESTS_", "CURL_", "SSL_CERT")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop) and "proxy" not in k.lower()}
    return env | {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh conan_server (a new CONAN_SERVER_HOME: its server.conf with new random secrets, no recipe) on a
    free port of 127.0.0.1; its URL once /v2/ping answers."""
    home = work / "conan_server"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    port = free_port()
    (home / "server.conf").write_text(
        SERVER_CONF.format(
            jwt_secret=secrets.token_hex(16),
            updown_secret=secrets.token_hex(16),
            port=port,
            author=AUTHOR,
            author_password=AUTHOR_PASSWORD,
            reader=READER,
            reader_password=READER_PASSWORD,
        )  # fmt: skip
    )
    log = work / "conan_server.log"
    env = clean_env(work) | {"CONAN_SERVER_HOME": str(home)}
    proc = start(stack, [str(SERVER_VENV / "bin" / "python"), "-c", RUN_SERVER, str(home)], log, cwd=work, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/v2/ping", proc, log)
    return url


def login_token(url: str, user: str, password: str) -> str:
    """What `conan remote login` gets: the JWT of `GET /v2/users/authenticate` with Basic credentials."""
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(url + "/v2/users/authenticate", headers={"Authorization": f"Basic {basic}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as r:
        return r.read().decode().strip()


# --- the session -------------------------------------------------------------------------------------


class Session:
    """Runs conan commands, each a "test" of its own, with a CONAN_HOME per person (fresh in every phase)."""

    def __init__(self, url: str, work: Path):
        self.url, self.work = url, work
        self.log = work / "session.log"
        self.results: list[dict] = []
        self.tokens: set[str] = set()

    def home(self, name: str) -> Path:
        """A new, empty CONAN_HOME: non-interactive, a fixed default profile; no remote until the session adds
        one (conan's own default remote is removed by the session's first commands)."""
        home = self.work / "homes" / name
        (home / "profiles").mkdir(parents=True)
        (home / "global.conf").write_text("core:non_interactive=True\n")
        (home / "profiles" / "default").write_text(PROFILE)
        return home

    def conan(self, home: Path, *args: str, expect: int = 0, cwd: Path | None = None, password: str = "") -> str:
        """One conan command with CONAN_HOME `home`; its stdout. A password goes in CONAN_PASSWORD_LOCAL,
        never on the command line."""
        env = clean_env(self.work) | {"CONAN_HOME": str(home)}
        if password:
            env[f"CONAN_PASSWORD_{REMOTE.upper()}"] = password
        shown = f"[{home.name}] conan " + " ".join(args)
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    [str(CONAN_BIN), *args], cwd=cwd or self.work, env=env, capture_output=True,
                    timeout=COMMAND_SECONDS, start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        result = {"command": shown, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        print(f"  {'ok  ' if result['ok'] else 'FAIL'} {shown} -> {code}", flush=True)
        self.tokens |= stored_tokens(home)
        return out.decode(errors="replace")

    def counts(self) -> dict:
        passed = sum(r["ok"] for r in self.results)
        return {
            "tests": len(self.results),
            "passed": passed,
            "failed": len(self.results) - passed,
            "errors": 0,
            "skipped": 0,
            "failing": [f"{r['command']} ({r['exit']}, expected {r['expect']})" for r in self.results if not r["ok"]],
            "commands": self.results,
        }


def stored_tokens(home: Path) -> set[str]:
    """The tokens conan keeps for its remotes (CONAN_HOME/.conan.db)."""
    db = home / ".conan.db"
    if not db.is_file():
        return set()
    with sqlite3.connect(db) as c:
        return {t for (t,) in c.execute("select token from users_remotes") if t}


def revisions(listing: str, ref: str) -> list[str]:
    """The recipe revisions of `ref` in a `conan list --format=json` output, oldest first."""
    found = next(iter(json.loads(listing).values()), {}).get(ref, {}).get("revisions", {})
    return sorted(found, key=lambda r: found[r].get("timestamp", 0))


def package_ids(listing: str, ref: str, **settings: str) -> list[str]:
    """The package ids of `ref`'s revisions in a `conan list REF:* --format=json` output whose settings are
    `settings`."""
    ids = []
    for rev in next(iter(json.loads(listing).values()), {}).get(ref, {}).get("revisions", {}).values():
        for pid, pkg in rev.get("packages", {}).items():
            have = pkg.get("info", {}).get("settings", {})
            if all(have.get(k) == v for k, v in settings.items()):
                ids.append(pid)
    return ids


def run_session(url: str, work: Path) -> dict:
    """A package author's and a package user's session against the conan_server at `url` (the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    for name, text in (("greet", GREET), ("app", APP)):
        (src / name).mkdir(parents=True)
        (src / name / "conanfile.py").write_text(text)
    (src / "consumer").mkdir()
    (src / "consumer" / "conanfile.txt").write_text(CONSUMER_TXT)
    r = f"-r={REMOTE}"

    # the author: the remote, a login refused and one accepted
    a = s.home("author")
    s.conan(a, "remote", "remove", "conancenter")
    s.conan(a, "remote", "add", REMOTE, url)
    s.conan(a, "remote", "list")
    s.conan(a, "search", "*", r)  # an empty remote: nothing found (a warning)
    s.conan(a, "remote", "login", REMOTE, AUTHOR, password=WRONG_PASSWORD, expect=1)
    s.conan(a, "remote", "login", REMOTE, AUTHOR, password=AUTHOR_PASSWORD)
    # recipes made from templates and the harness's own, created in the cache (nothing compiled)
    for version in ("1.0", "1.1", "2.0"):
        s.conan(a, "new", "header_lib", "-d", "name=hello", "-d", f"version={version}", "-o", f"src/hello-{version}")
        s.conan(a, "create", f"src/hello-{version}", "-tf=")
    s.conan(a, "new", "header_lib", "-d", "name=solo", "-d", "version=1.0", "-o", "src/solo")
    s.conan(a, "create", "src/solo", "-tf=")
    with open(src / "hello-1.0" / "include" / "hello.h", "a") as f:
        f.write("// a second revision of hello/1.0\n")
    s.conan(a, "create", "src/hello-1.0", "-tf=")  # a new recipe revision of hello/1.0
    s.conan(a, "create", "src/greet", "--version=0.1")
    s.conan(a, "create", "src/greet", "--version=0.1", "-s", "build_type=Debug")
    s.conan(a, "create", "src/greet", "--version=0.2")
    s.conan(a, "create", "src/greet", "--version=0.1", "--user=acme", "--channel=stable")
    s.conan(a, "create", "src/app", "--version=0.1")
    old = revisions(s.conan(a, "list", "hello/1.0#*", "--format=json"), "hello/1.0")
    # uploads: every revision of a version, a recipe alone then its binaries, a pattern, one again
    s.conan(a, "upload", "hello/1.0#*", r, "-c")
    s.conan(a, "upload", "hello/1.1", r, "-c", "--only-recipe")
    s.conan(a, "upload", "hello/1.1", r, "-c")
    s.conan(a, "upload", "hello/2.0", r, "-c")
    s.conan(a, "upload", "greet/*", r, "-c")
    s.conan(a, "upload", "greet/*@acme/stable", r, "-c")
    s.conan(a, "upload", "app/0.1", r, "-c")
    s.conan(a, "upload", "hello/1.1", r, "-c")  # already there: skipped
    # an upload without a login (refused: anonymous may not write), then with one
    s.conan(a, "remote", "logout", REMOTE)
    s.conan(a, "upload", "solo/1.0", r, "-c", expect=1)
    s.conan(a, "remote", "login", REMOTE, AUTHOR, password=AUTHOR_PASSWORD)
    s.conan(a, "upload", "solo/1.0", r, "-c")
    # what the remote has
    s.conan(a, "search", "*", r)
    s.conan(a, "search", "hello", r)
    s.conan(a, "list", "hello/*", r)
    s.conan(a, "list", "hello/1.0#*", r)
    s.conan(a, "list", "hello/1.1:*", r)
    s.conan(a, "list", "greet/0.1:*#*", r)
    s.conan(a, "list", "greet/*@acme/stable", r)
    s.conan(a, "list", "*", r, "--format=json")
    s.conan(a, "list", "nothere/*", r)  # nothing found: an empty list
    s.conan(a, "list", "hello/1.0#00000000000000000000000000000000", r)  # "not found" in the listing

    # the user: a new, empty cache, anonymous
    u = s.home("user")
    s.conan(u, "remote", "remove", "conancenter")
    s.conan(u, "remote", "add", REMOTE, url)
    s.conan(u, "search", "greet", r)
    s.conan(u, "install", "--requires=app/0.1", r)
    s.conan(u, "install", "src/consumer", r)
    s.conan(u, "download", "greet/0.1:*", r)
    s.conan(u, "download", f"hello/1.0#{old[0] if old else 'missing'}", r)
    s.conan(u, "remove", "*", "-c")  # the local cache cleared
    s.conan(u, "install", "--requires=hello/[>=1.0 <2]", r)
    s.conan(u, "install", "--requires=greet/0.1@acme/stable", r)
    s.conan(u, "install", "--requires=nothere/1.0", r, expect=1)  # no such recipe
    s.conan(u, "download", "nothere/1.0", r, expect=1)
    s.conan(u, "install", "--requires=hello/9.0", r, expect=1)  # no such version
    s.conan(u, "install", "--requires=greet/0.2", "-s", "build_type=Debug", r, expect=1)  # no such binary

    # the reader: logged in, may read but not write
    d = s.home("reader")
    s.conan(d, "remote", "remove", "conancenter")
    s.conan(d, "remote", "add", REMOTE, url)
    s.conan(d, "remote", "login", REMOTE, READER, password=READER_PASSWORD)
    s.conan(d, "download", "hello/2.0", r)
    s.conan(d, "upload", "hello/2.0", r, "-c", "--force", expect=1)  # 403
    s.conan(d, "remove", "hello/2.0", r, "-c", expect=1)  # 403

    # the author removes: a recipe revision, a binary, a package query, a whole recipe
    s.conan(a, "remove", f"hello/1.0#{old[0] if old else 'missing'}", r, "-c")
    debug = package_ids(s.conan(a, "list", "greet/0.1:*", "--format=json"), "greet/0.1", build_type="Debug")
    s.conan(a, "remove", f"greet/0.1:{debug[0] if debug else 'missing'}", r, "-c")
    s.conan(a, "remove", "greet/0.2:*", "-p", "build_type=Release", r, "-c")
    s.conan(a, "remove", "greet/0.1@acme/stable", r, "-c")
    s.conan(a, "remove", "solo/*", r, "-c")
    s.conan(a, "remove", "nothere/1.0", r, "-c", expect=1)
    s.conan(a, "list", "hello/1.0#*", r)
    s.conan(a, "list", "greet/*:*", r)
    s.conan(a, "search", "*", r)
    # the user again, after the removals
    s.conan(u, "remove", "*", "-c")
    s.conan(u, "install", f"--requires=hello/1.0#{old[0] if old else 'missing'}", r, expect=1)
    s.conan(u, "install", "--requires=greet/0.1", "-s", "build_type=Debug", r, expect=1)
    s.conan(u, "install", "--requires=greet/0.1@acme/stable", r, expect=1)
    s.conan(u, "install", "--requires=hello/1.0", r)  # its newer revision
    s.conan(a, "remote", "logout", REMOTE)
    return s.counts() | {"tokens": sorted(s.tokens)}


# --- secrets on disk and the verifier ----------------------------------------------------------------

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


def secrets_on_disk(out: Path, tokens: list[str]) -> dict[str, list[str]]:
    """Per file the recorder wrote (everything under OUT but the server's and the session's folders), the
    passwords, the session's JWTs and anything shaped like a JWT found in it."""
    found: dict[str, list[str]] = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if not p.is_file() or rel.parts[0] in ("server", "session"):
            continue
        text = p.read_text(errors="replace")
        hits = [f"password {n}" for n, pw in enumerate(PASSWORDS, 1) if pw in text]
        hits += [f"a session JWT ({t[:12]}...)" for t in tokens if t in text]
        hits += [f"a JWT-shaped string ({m[:12]}...)" for m in sorted(set(JWT.findall(text)) - set(tokens))]
        for n, pw in enumerate(PASSWORDS, 1):
            basic = base64.b64encode(f"{AUTHOR}:{pw}".encode()).decode()
            basic_r = base64.b64encode(f"{READER}:{pw}".encode()).decode()
            hits += [f"Basic credentials with password {n}" for b in (basic, basic_r) if b in text]
        if hits:
            found[str(rel)] = hits
    return found


# The credentials the session sends, by scheme, in the order it first sends them: the recorder names the distinct
# values of a header in that order (`authorization`, `authorization_2`, ...), so among the names of one scheme the
# first is the first of its list here, and so on (a JWT the recorder saw a login hand out is fetched fresh by
# verify and never asked for; one it did not is given as `Bearer JWT`).
SENT = {
    "Basic": [(AUTHOR, WRONG_PASSWORD), (AUTHOR, AUTHOR_PASSWORD), (READER, READER_PASSWORD)],  # (the refused one)
    # the author's JWT, its second (after a logout and a new login), the reader's
    "Bearer": [(AUTHOR, AUTHOR_PASSWORD), (AUTHOR, AUTHOR_PASSWORD), (READER, READER_PASSWORD)],
}


def schemes(pact: Path) -> dict[str, str]:
    """The scheme (`Basic`, `Bearer`) of each secret the recording's requests send in a header, by its name,
    as the pact's interactions and the states file's steps show them."""
    found: dict[str, str] = {}
    doc = json.loads(pact.read_text())
    for i in doc["interactions"]:
        headers = {k.lower(): v for k, v in (i["request"].get("headers") or {}).items()}
        for e in i.get("comments", {}).get("pactRecorder", {}).get("secrets", []):
            sent = headers.get(str(e.get("key")).lower(), [""])
            if e.get("in") == "header" and (scheme := e.get("prefix") or (sent[0] if isinstance(sent, list) else sent)):
                found[e["secret"]] = scheme.partition(" ")[0]
    states = yaml.safe_load(pact.with_name(pact.name.replace(".json", ".states.yaml")).read_text())
    for step in (states or {}).get("steps", {}).values():
        headers = {k.lower(): v for k, v in step.get("headers", [])}
        for e in step.get("secrets", []):
            if e.get("in") == "header" and (value := headers.get(str(e.get("key")).lower())):
                found.setdefault(e["secret"], value.partition(" ")[0])
    return found


def _number(name: str) -> int:
    return int(name.rpartition("_")[2]) if name.rpartition("_")[2].isdigit() else 1


def answers(message: str, url: str, pact: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names, as the session's author gives it: by its scheme
    and its place among the names of that scheme (see SENT); Basic credentials as they are, a JWT as a new login
    of that account on the fresh server at `url` gets it (the recorded ones were signed by another server's
    secret)."""
    by_scheme = schemes(pact)
    ordered: dict[str, list[str]] = {}
    for name in sorted(by_scheme, key=_number):
        ordered.setdefault(by_scheme[name], []).append(name)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        scheme = by_scheme.get(name)
        if scheme not in SENT or ordered[scheme].index(name) >= len(SENT[scheme]):
            raise RuntimeError(f"verify asks for a secret the session does not know: {name}")
        user, password = SENT[scheme][ordered[scheme].index(name)]
        if scheme == "Basic":
            value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        else:
            value = "Bearer " + login_token(url, user, password)
        args += ["--secret", f"{name}={value}"]
    return args


def hide(text: str) -> str:
    for pw in PASSWORDS:
        text = text.replace(pw, "****")
    return re.sub(r"Basic [A-Za-z0-9+/=]{8,}", "Basic <credentials>", JWT.sub("<jwt>", text))


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server, work / "direct" / "session")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    on_disk = secrets_on_disk(out, recorded.pop("tokens"))
    if direct_run:
        direct_run.pop("tokens")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_server(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_server(stack, work / "verify2" / "server")
            extra = verify_args or answers(outcome["message"], server, pact)
            if report is None and not extra:
                raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = hide(run["message"]).splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({hide(' '.join(run['args']))})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print("secrets in files the recorder wrote: " + ("; ".join(f"{f}: {', '.join(h)}" for f, h in on_disk.items())
                                                    or "none (no password, no JWT)"))  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "conan_server": CONAN_SERVER,
        "conan": CONAN,
        "pins": {"server": SERVER_PINS, "client": CLIENT_PINS},
        "consumer": "the conan 2 CLI: a package author's, a user's and a reader's session",
        "verify_args": [hide(a) for a in args],
        "verify_runs": [
            run | {"args": [hide(a) for a in run["args"]], "message": hide(run["message"])} for run in runs
        ],
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_on_disk": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("conan", __doc__, phases, sys.argv[1:], setup))
