"""Record GNU Mailman 3 core's REST API while mailmanclient's own test suite runs against it with the real
client, then verify the pact against a fresh, empty Mailman.

    .venv/bin/python bench/thirdparty/mailman.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the REST admin's Basic
credentials (`Basic BASE64` where the name is a header's, else the password).

What it does, each phase timed:
  setup    a venv under .venv/thirdparty/mailman/ with Mailman core and mailmanclient (PINS: SQLAlchemy held at
           2.0, on which Mailman 3.3.10 serves collections; six, which two test modules import), and
           mailmanclient's sdist (its tests and docs/using.rst ship only there) unpacked beside it, installed
           once per pin set.
  direct   the suite below straight against Mailman (--no-direct leaves this out).
  record   `pact-recorder record --consumer mailmanclient --provider mailman-core` in front of Mailman's REST
           port, the same suite given the recorder's URL; SIGTERM makes it write
           OUT/mailmanclient-mailman-core.json.
  verify   a fresh Mailman (empty: no domain, list or user), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (tests passed through the recorder and directly, whether the same failed, whether
the admin's password, its Basic credentials or a template's password reached any file the recorder wrote,
exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each Mailman is `master -C CONFIG` (all its runners: REST on gunicorn, in, pipeline, out, lmtp, ...) with
mailmanclient's own mailman_test.cfg (devmode and testing, the FakeMTA, the three archivers enabled) on
127.0.0.1 and free ports (REST, SMTP, LMTP), a var folder of its own (SQLite), REST admin `restadmin` /
`restpass` (the suite's own). The SMTP port has no server: messages Mailman sends are retried in its queue.

The suite (the client's own tests, run live as its CI runs them, not its cassettes): docs/using.rst (one
doctest of 1430 lines: domains, lists, styles, members, users, addresses, preferences, held messages through
the `in` queue, bans, header matches, archivers, configuration, ...) and tests/ (async client, URL-encoded
paths, request hooks, find_users, domains, list rosters, held-message moderation, invites, pending requests,
pagination, self_link rewriting, site/domain/list templates, unicode), copied into the phase's folder with
the URL they name (http://localhost:9001, where the suite's fixture started Mailman) made the one the client
is given, and Mailman's own where a self_link is printed or checked. Its src/mailmanclient/conftest.py starts
a fresh Mailman for each module (pytest-services' watcher_getter) and stops it after, its var folder removed;
the harness's stand-in (CONFTEST) does the same on the harness's config, so the recorder sees a provider
started afresh, unannounced, 9 times (once per module), as any recording of this suite would. Every process
started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (mailman 3.3.10 with SQLAlchemy 2.0.59 and falcon 4.4, mailmanclient 3.3.5, Python 3.12; two runs
alike): 37 tests, 36 / 37 passed both directly and through the recorder, the same failing both ways (using.rst at its
line 1300: Mailman 3.3.10 lists config sections, `logging.gunicorn` and `urlpatterns`, the doc predates);
1998 to 2007 exchanges, all recorded, 209 interactions (197 with a provider state). verify with
`--states-from-recording` alone: exit 2, one secret asked for (`authorization: needed by 328 request(s)`);
with `--secret authorization=Basic BASE64`: **129 / 209 green**. On disk: neither the admin password, nor
its Basic credentials, nor the template password `testpass` (the API echoes it back) in any file the
recorder wrote.
The 80 red, by class (each counted once, by its first cause):
  - a site-wide setting a setup left behind (22): some states' setups replay test_templates' `PATCH
    /3.1/uris` (the site's `list:user:notice:welcome` template set to http://example.com/welcome.txt), and
    nothing undoes it between interactions; from then on every subscription makes Mailman fetch that URL
    (unreachable) and refuse 400: 17 setups' `POST /3.1/members` (201 -> 400) and 5 `POST /3.1/members`
    interactions (201/202 -> 400). Needs: the undo between interactions to cover writes to a singleton
    (a settings or templates resource with no id of its own: restore what a read before it answered, or
    replay the recorded inverse, here `DELETE /3.1/uris/NAME`), and setups that take no unrelated
    setting writes;
  - a parent named in a body, not set up (21): lists are made by `POST /3.1/lists
    fqdn_listname=test-3@example.net`, members by `POST /3.1/members list_id=test-1.example.com`; the
    domain or list is in a form value, not the path, so the setups make the child without its parent
    ("Domain does not exist: example.net" 9, "No such list" 4, `PATCH .../lists/test1.example.net/uris`
    404 5) and listings below a domain come back empty (`GET /3.1/domains/example.com/lists`: no
    `entries`, 3). Needs: a request's body values that name a resource made earlier (an `a@b` or `a.b`
    value equal to a create's key) to make that resource a parent state, set up first;
  - one resource under several spellings (16): a list is `foo@example.com` (fqdn_listname) and
    `foo.example.com` (list_id), an address `cris.person%40example.org` and `cris.person@example.org`, a
    roster entry made by `POST /3.1/members` (answered with `/members/{id}`) is deleted at
    `/lists/L/owner/EMAIL`, a user by the id `POST /3.1/users` handed out: setups and interactions reach
    them under a name the timeline never saw made (404: `POST /users/{id}/addresses` 6+2,
    `/lists/X/config` 2, `.../verify` 2, roster DELETEs 3, `GET /addresses/A` 1). Needs: aliases learnt
    from answers (a create's answer that carries the resource's other keys, `list_id` beside
    `fqdn_listname`; percent-encoding folded), so that a state names one resource whatever the spelling;
  - the provider reset between modules, unseen (14): the suite's fixture restarts Mailman for each
    module, so `list0`...`list9`, `foo`, `test-1` and users are made again, each time answered 201; a
    setup replays such a create on a provider that already holds it from an earlier interaction or setup
    ("Mailing list exists" 13; `POST /3.1/users` 201 -> 400 "User already exists" 1). Needs: a way to mark
    a provider reset in a recording (a reset the pytest plugin or the record CLI is told of, beside the
    root `/reset` rule) so the timeline starts again, and a create's "already exists" refusal taken as
    the state holding;
  - items the server makes asynchronously (7): held messages and pending requests appear only after the
    `in` runner processed a message `POST /3.1/queues/in` injected, under ids and tokens the server hands
    out (`/lists/L/held/{id}` 200 -> 404 4, `/held` 1, `/requests` and `/requests/TOKEN` 2). Needs: a
    setup that waits for its effect (polls the recorded read until it answers as recorded) and links the
    ids a listing handed out to the write that caused them.
One run: direct ~8 min, record ~8 min (the suite's 9 Mailman starts and the async test's 225 subscriptions
on 2 shared cores), verify and verify2 0.5-1.5 min each; the setup, once, ~2 min.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tarfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

MAILMAN, MAILMANCLIENT = "3.3.10", "3.3.5"
PINS = [
    f"mailman=={MAILMAN}",
    f"mailmanclient=={MAILMANCLIENT}",
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",
    "httpx==0.29.0",
    "six==1.17.0",  # tests/test_domain.py and test_unicode.py import it (mailmanclient's testing extra does not)
    "SQLAlchemy==2.0.59",  # Mailman 3.3.10 fails on 2.1 (a Query in select_from: 500 on every collection)
    "greenlet==3.5.6",
    # what they resolve to
    "aiosmtpd==1.4.6", "alembic==1.20.1", "anyio==4.16.0", "atpublic==9.0.0", "attrs==26.1.0",
    "authheaders==0.16.3", "authres==1.2.0", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3",
    "click==8.5.1", "dkimpy==1.1.8", "dnspython==2.9.2", "falcon==4.4.0", "flufl.bounce==6.0.0",
    "flufl.i18n==8.0.0", "flufl.lock==10.0.0", "gunicorn==27.0.1", "h11==0.16.0", "httpcore==1.0.9",
    "idna==3.21", "iniconfig==2.3.1", "lazr.config==4.0.0", "lazr.delegates==4.0.0", "Mako==1.4.3",
    "MarkupSafe==3.0.4", "packaging==26.4", "passlib==1.7.4", "pluggy==1.7.0", "psutil==7.2.2",
    "publicsuffix2==2.20191221", "Pygments==2.21.0", "python-dateutil==4.0.0", "requests==2.34.2",
    "setuptools==84.2.1", "typing_extensions==4.16.0", "tzdata==2026.6",
    "urllib3==2.8.0", "zc.lockfile==4.0", "zope.component==7.1", "zope.configuration==7.1",
    "zope.event==6.2", "zope.hookable==8.4", "zope.i18nmessageid==8.4", "zope.interface==8.7",
    "zope.schema==8.1",
]  # fmt: skip
SDIST = f"mailmanclient=={MAILMANCLIENT}"
HOME = ROOT / ".venv" / "thirdparty" / "mailman"
VENV = HOME / "venv"
BIN = VENV / "bin"
CONSUMER, PROVIDER = "mailmanclient", "mailman-core"
ADMIN, PASSWORD = "restadmin", "restpass"  # the suite's own, in every Client(...) it makes
BASIC = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
TEMPLATE_PASSWORD = "testpass"  # test_templates' credentials for a template's URL, stored and served by Mailman
SUITE = ["docs/using.rst", "tests"]
SUITE_PORT = "9001"  # the port every URL of the suite names (its fixture started Mailman there)

CONFIG = """\
# mailmanclient's mailman_test.cfg, on our host and ports, its files in a folder of its own
[mailman]
site_owner: owner@example.com

[paths.here]
var_dir: {var}

[devmode]
enabled: yes
testing: yes
recipient: you@yourdomain.com

[mta]
smtp_host: 127.0.0.1
smtp_port: {smtp}
lmtp_host: 127.0.0.1
lmtp_port: {lmtp}
incoming: mailman.testing.mta.FakeMTA

[webservice]
hostname: 127.0.0.1
port: {port}
admin_user: {admin}
admin_pass: {password}

[archiver.mhonarc]
enable: yes

[archiver.mail_archive]
enable: yes

[archiver.prototype]
enable: yes

[logging.master]
path: {logs}/master.log
level: info

[logging.http]
path: {logs}/http.log
level: error
"""
PYTEST_INI = """\
# mailmanclient's pytest.ini, less --run-services (pytest-services: its fixture started Mailman per module)
[pytest]
addopts = --doctest-glob='*.rst' --tb=short
doctest_optionflags = NORMALIZE_WHITESPACE ELLIPSIS
asyncio_default_fixture_loop_scope = function
"""
CONFTEST = '''\
"""mailmanclient's src/mailmanclient/conftest.py as the harness runs it: its fixture starts a fresh Mailman
(`master -C CONFIG`, all its runners) for each module and stops it after, its var folder removed, as the
original does with pytest-services' watcher_getter; here without pytest-services, on the harness's config
(PAIR_MAILMAN_CONFIG: its host, ports and folder) instead of mailman_test.cfg on port 9001."""

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CONFIG = Path(os.environ["PAIR_MAILMAN_CONFIG"])
URL = os.environ["PAIR_MAILMAN_URL"]


def check_core():
    try:
        urllib.request.urlopen(URL + "/3.1/system/versions", timeout=1)
    except urllib.error.HTTPError:
        return True  # 401: it serves
    except OSError:
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def mailman_core():
    """Mailman Core instance which is ready to be used by the tests"""
    var = CONFIG.parent / "var"
    shutil.rmtree(var, ignore_errors=True)
    (var / "logs").mkdir(parents=True)
    with open(CONFIG.parent / "server.log", "ab") as log:
        proc = subprocess.Popen(["master", "-C", str(CONFIG)], cwd=CONFIG.parent, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not check_core():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Mailman did not start (exit {proc.poll()}): see {CONFIG.parent}/server.log")
            time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)  # master stops its runners
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        while check_core():  # the REST runner let go of the port
            time.sleep(0.1)
'''


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS and mailmanclient's sdist unpacked beside it, installed once per pin set;
    the sdist's folder."""
    stamp = HOME / ".installed"
    pins = "\n".join([*PINS, SDIST])
    found = sorted(HOME.glob("mailmanclient-*/src/mailmanclient/tests")) if HOME.is_dir() else []
    if not (stamp.is_file() and stamp.read_text() == pins and found and (BIN / "master").is_file()):
        print(f"setup: installing {', '.join(PINS[:5])} and their dependencies into {HOME.relative_to(ROOT)}",
              flush=True)  # fmt: skip
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(BIN / "python", "install", *PINS)
        common.pip(Path(sys.executable), "download", "--no-binary", ":all:", "--no-deps", "-d", str(HOME), SDIST)
        (archive,) = HOME.glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(HOME, filter="data")
        stamp.write_text(pins)
        found = sorted(HOME.glob("mailmanclient-*/src/mailmanclient/tests"))
    return found[0].parent.parent.parent


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any Mailman setting or proxy of the user's."""
    drop = ("MAILMAN", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    env |= {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
    return env | {"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


# --- the server --------------------------------------------------------------------------------------


def write_config(work: Path) -> tuple[Path, str]:
    """A Mailman config in `work` (its var folder there, REST, SMTP and LMTP on free ports of 127.0.0.1);
    (the config, its REST URL)."""
    work.mkdir(parents=True, exist_ok=True)
    var = work / "var"
    port, smtp, lmtp = free_port(), free_port(), free_port()
    config = work / "mailman.cfg"
    config.write_text(CONFIG.format(var=var, logs=var / "logs", port=port, smtp=smtp, lmtp=lmtp, admin=ADMIN,
                                    password=PASSWORD))  # fmt: skip
    return config, f"http://127.0.0.1:{port}"


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh Mailman (`master`, all its runners, a new var folder and SQLite database) in `work`; its REST
    URL once /3.1/system/versions answers (401 without credentials)."""
    config, url = write_config(work)
    shutil.rmtree(work / "var", ignore_errors=True)
    (work / "var" / "logs").mkdir(parents=True)
    log = work / "server.log"
    cmd = [str(BIN / "master"), "-C", str(config)]
    proc = start(stack, cmd, log, cwd=work, env=clean_env(work), stdin=subprocess.DEVNULL)
    wait_http(url + "/3.1/system/versions", proc, log, ok=(401,))
    return url


# --- the suite ---------------------------------------------------------------------------------------


def copy_suite(sdist: Path, work: Path, client: str, server: str) -> Path:
    """mailmanclient's tests (tests/*.py) and its doctest (docs/using.rst) copied into `work` with the URL they
    name (http://localhost:9001 or 127.0.0.1:9001, where its fixture started Mailman) made `client` (the URL
    the client is given) where the client is given it, and `server` (the base of Mailman's self_links) where
    a self_link is printed or checked."""
    src = sdist / "src" / "mailmanclient"
    suite = work / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    (suite / "docs").mkdir(parents=True)
    shutil.copytree(src / "tests", suite / "tests", ignore=shutil.ignore_patterns("data", "__pycache__"))
    shutil.copy(src / "docs" / "conftest.py", suite / "docs" / "conftest.py")
    pattern = re.compile(rf"http://(localhost|127\.0\.0\.1):{SUITE_PORT}")

    def rewrite(path: Path, is_output) -> None:
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(pattern.sub(server if is_output(line) else client, line) for line in lines))

    shutil.copy(src / "docs" / "using.rst", suite / "docs" / "using.rst")
    rewrite(suite / "docs" / "using.rst", lambda line: not line.lstrip().startswith((">>>", "...")))
    for test in (suite / "tests").glob("*.py"):
        rewrite(test, lambda line: "self_link.startswith(" in line)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "conftest.py").write_text(CONFTEST)
    return suite


def run_suite(stack: ExitStack, work: Path, through=None) -> dict:
    """The client's tests, their conftest starting a fresh Mailman (its config in `work`/server) for each
    module, as the suite's own does; the URL they give the client is Mailman's, or the one `through(url)`
    gives (the recorder's, started on Mailman's URL). Their counts."""
    work.mkdir(parents=True, exist_ok=True)
    config, server = write_config(work / "server")
    client = through(server) if through else server
    suite = copy_suite(setup(), work, client, server)
    args = [*SUITE, "-c", str(suite / "pytest.ini"), "--rootdir", str(suite)]
    env = clean_env(work) | {"PAIR_MAILMAN_CONFIG": str(config), "PAIR_MAILMAN_URL": server}
    return common.run_pytest(stack, BIN / "python", args, work, cwd=suite, env=env)


# --- secrets on disk and the verifier ----------------------------------------------------------------

SECRETS = {"the admin password": PASSWORD, "the admin's Basic credentials": BASIC, "a template's password":
           TEMPLATE_PASSWORD}  # fmt: skip


def secrets_on_disk(out: Path) -> dict[str, list[str]]:
    """Each secret, with the files the recorder wrote (the pact, its states, kept bodies) that hold it in
    clear, and how often."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    found = {}
    for what, secret in SECRETS.items():
        where = []
        for p in files:
            if n := p.read_text(errors="replace").count(secret):
                where.append(f"{p.relative_to(out)} x{n}")
        found[what] = where
    return found


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the admin's Basic credentials (with the
    scheme where the name is a header's), else the password."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        args += ["--secret", f"{name}={'Basic ' + BASIC if 'authorization' in name.lower() else PASSWORD}"]
    return args


def hide(text: str) -> str:
    for secret in (BASIC, PASSWORD):
        text = text.replace(secret, "****")
    return text


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_suite(stack, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        started = []

        def through(server: str) -> str:
            started.append(common.start_recorder(stack, CONSUMER, PROVIDER, server, out))
            return started[0][1]

        recorded = run_suite(stack, out / "run", through)
        recorder, _, log = started[0]
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    leaked = secrets_on_disk(out)
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_server(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_server(stack, work / "verify2" / "server")
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
    same = common.same_failures(direct_run, recorded)
    if same:
        print(f"transparency: the same tests failed both ways: {same['same']}")
        for name in same["failing_only_direct"] + same["failing_only_recorded"]:
            print(f"  differs: {name}")
    for what, where in leaked.items():
        print(f"{what} in clear in: {', '.join(where) or 'none of the files the recorder wrote'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "mailman": MAILMAN,
        "mailmanclient": MAILMANCLIENT,
        "pins": PINS,
        "consumer": "mailmanclient's own test suite (tests/ and the doctest docs/using.rst), against a live Mailman",
        "suite": SUITE,
        "verify_args": [hide(a) for a in args],
        "verify_runs": [
            {k: hide(v) if k == "message" else v for k, v in run.items()} | {"args": [hide(a) for a in run["args"]]}
            for run in runs
        ],  # fmt: skip
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secret_in_clear": leaked,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("mailman", __doc__, phases, sys.argv[1:], setup))
