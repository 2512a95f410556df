"""Record Chroma's server while Chroma's own client test suite runs against it with the real HTTP client, then
verify the pact against a fresh, empty server.

    .venv/bin/python bench/thirdparty/chroma.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=x` for each NAME it names (this server has no authentication).

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/chroma/ with chromadb (PINS: the server, `chroma run`, a
           Rust binary, and the Python client are the same package, whose wheel ships the client's test
           suite as chromadb/test/) and what that suite's conftest imports (pytest 8: its conftest sets
           `item._nodeid`, which pytest 9 no longer has; hypothesis as Chroma's dev requirements pin it,
           pytest-asyncio, fastapi, the FastAPI instrumentation, psutil), installed once per pin set.
  direct   a fresh server and the suite below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer chromadb-client --provider chroma-server`
           in front of it, the same suite with CHROMA_SERVER_HOST / CHROMA_SERVER_HTTP_PORT set to the
           recorder's; SIGTERM makes it write OUT/chromadb-client-chroma-server.json.
  verify   a third fresh server (empty: only the default tenant and database every new server has),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with what it
           asked for (verify2).
Then it prints the figures (tests passed through the recorder and directly, whether they failed alike,
exchanges, interactions, what the recorder redacted and whether the suite tried to download anything,
verified green / total) and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and
--json FILE).

Each server is `chroma run CONFIG` with the config Chroma's own single-node integration run uses
(bin/rust_single_node_integration_test_config.yaml: `allow_reset: true`, which the suite needs, a SQLite
system database, no segment cache), less its OpenTelemetry exporter (it points at a collector none runs), on
127.0.0.1 and a free port, its data in a new folder of its own. Nothing reports anywhere and nothing
downloads: ANONYMIZED_TELEMETRY=False for the server and the client, every *_proxy variable dropped, HOME a
folder of the phase's own (the default embedding function would fetch its ONNX model into
~/.cache/chroma/onnx_models: the harness says whether that folder appeared, and the tests that need it are
deselected, see below).

The API: REST over JSON under `/api/v2`: `GET /heartbeat`, `/version`, `/pre-flight-checks`,
`/auth/identity`, `POST /reset`; tenants and databases (`POST /tenants`, `GET /tenants/{tenant}`, `POST
/tenants/{tenant}/databases`, `GET|DELETE /tenants/{tenant}/databases/{database}`, `GET .../databases` with
limit and offset); collections by name and by the UUID the server hands out (`POST .../collections` with
get_or_create, `GET .../collections/{name}`, `PUT|DELETE .../collections/{id}`, `GET .../collections`,
`/collections_count`); records by collection id (`POST .../collections/{id}/add`, `/upsert`, `/update`,
`/get` with `where`, `where_document`, ids, limit and offset, `/query` with embeddings and `include`,
`/delete`, `/search`, `GET .../count`, `POST .../fork`, `GET .../indexing_status`); errors as JSON `{"error":
..., "message": ...}` with 400, 404, 409 or 422, and 500 for a few.

The suite (the client's own tests, unmodified, as Chroma's CI runs them against a remote server: the
`integration` fixture, CHROMA_INTEGRATION_TEST_ONLY=1, every test starting with the client's `reset()`):
SUITE below, chromadb/test/test_api.py (collections, records, filters, queries, errors, limits, the search
API's local parts) and the remote-capable files of chromadb/test/api/ and chromadb/test/client/
(collections, count, databases and tenants, invalid updates, numpy inputs, search, fork, indexing status,
list_databases as a hypothesis property test). Left out by DESELECT: the `async_integration` twins (the same
requests through the asyncio client: they would double the run for no new endpoint), and the tests that
create a collection with no embedding function and so use the default one, which downloads its model (the
schema end-to-end tests, test_default_embedding, test_persist_index_loading*,
test_collection_{query,update}_with_invalid_collection_throws). Files that need a server of their own
(basic-auth, a persistent directory, the CLI), the property tests but list_databases (minutes each) and the
ones that test nothing remote are not run. Every process started is stopped on the way out, on failure and on
Ctrl-C or SIGTERM too.

First contact (chromadb 1.5.9, server and client): 180 tests, 156 passed and 24 skipped (Chroma's own skips:
13 need its distributed cluster, 8 SPANN, 3 an in-process FastAPI server) both directly and through the
recorder, the same tests failing both ways (none); the default embedding function's model never fetched; 1622
to 1727 exchanges (list_databases draws its own with hypothesis), all recorded but 2 (answered 500, left out
by the rule 'server-errors'), 104 interactions (93 with a provider state). No secret: the API has no
authentication here, the recorder redacted nothing and the states file names none. verify with
`--states-from-recording` alone: exit 1, nothing asked for (no exit 2), 63 / 104 green, the same in three
runs.
The 41 red, by class:
  - records a state does not replay (30): "collection exists" is set up by its create alone; the records the
    suite put in it go by `POST .../collections/{id}/add`, `/upsert`, `/update`, `/delete` (actions on a
    sub-path of the collection, not a create of a resource of their own), which no setup sends. So every
    read of them finds none (`POST .../collections/{id}/get` and `/query` 200 with `$.ids: Expected []
    (size 0) to have minimum size of 1`, 26), and the refusals that depend on what the collection holds
    are accepted (its dimension is fixed by its first add: `.../add` 400 -> 201, "Collection expecting
    embedding with dimension of 3, got 4"; `/query`, `/update`, `/upsert` 400 -> 200: 4);
  - enum values made fresh (3): a setup's replay of `POST .../collections` that collides sends
    `configuration.hnsw.space: "l2-7"`, refused 422 ("unknown variant `l2-7`, expected one of `l2`,
    `cosine`, `ip`"): the states "collections exist" and "databas exists" fail (`GET .../collections`,
    two `DELETE .../databases/{name}`);
  - Chroma's reset not known as one (6): every test starts with the client's `POST /api/v2/reset`, which
    the rule `provider-reset` (a root /reset) does not match, so it is an interaction like any other and the
    timeline carries collections and databases from one test into the next: a create of a name an earlier
    interaction or setup made again is answered 409 (`POST .../collections` 200 -> 409, 5) and a database a
    test deleted is found (`GET .../databases/test_delete_database` 404 -> 200). Passing that reset as
    `--reset-url` does not help (60 / 104): the setups were cut for a provider never reset;
  - a request body over --max-body (1): the suite's large batch `POST .../collections/{id}/add` (JSON over
    4 MiB) streamed through unrecorded, so verify sends no body: 201 -> 400;
  - a collection addressed by id and by name (1): `PUT .../collections/{id}` (modify) and `DELETE
    .../collections/{name}` name the same collection; the state "collection exists" of `DELETE
    .../test_db/collections/collection` gets the modify alone as its setup, not the create that made it,
    so the delete finds none: 200 -> 404.
`Chroma-Trace-Id` (on the server's errors only) is missing where a recorded error is answered 2xx: a
consequence, never a first cause. One run: direct 1 to 1.5 min, record 0.75 to 2 min, verify under 20 s (2 to 4
min in all); the setup, once, ~2 min.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

CHROMA = "1.5.9"
PINS = [
    f"chromadb=={CHROMA}",
    "pytest==8.3.5",
    "pytest-asyncio==0.26.0",
    "hypothesis[numpy]==6.112.2",
    "fastapi==0.165.0",
    "opentelemetry-instrumentation-fastapi==0.66b2",
    "psutil==7.2.2",
]
HOME = ROOT / ".venv" / "thirdparty" / "chroma"
VENV = HOME / "venv"
BIN = VENV / "bin"
CONSUMER, PROVIDER = "chromadb-client", "chroma-server"
SUITE = [
    "test_api.py",
    "api/test_collection.py",
    "api/test_count_api.py",
    "api/test_delete_database.py",
    "api/test_get_database.py",
    "api/test_invalid_update.py",
    "api/test_numpy_list_inputs.py",
    "api/test_search_api.py",
    "api/test_types.py",
    "api/test_fork_count_api.py",
    "api/test_indexing_status.py",
    "api/test_list_databases.py",
    "client/test_database_tenant.py",
]
DESELECT = " and ".join(
    f"not {k}"
    for k in (
        "async_integration",
        "test_default_embedding",
        "test_persist_index_loading",
        "invalid_collection_throws",
        "local_persist_api",  # these three run a client or server of their own, never ours
        "python_sqlite_persistent",
        "fastapi_ssl",
    )
)
PYTEST_INI = """\
# Chroma's [tool.pytest.ini_options] (pyproject.toml), its flaky marker's plugin (pytest-rerunfailures) aside
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
markers =
    flaky: a test Chroma's CI runs again when it fails
filterwarnings =
    ignore::DeprecationWarning
"""
SERVER_CONFIG = """\
# Chroma's bin/rust_single_node_integration_test_config.yaml, less its OpenTelemetry exporter, on our port
allow_reset: true
listen_address: "127.0.0.1"
port: {port}
persist_path: "{data}"
sqlitedb:
  url: "{data}/chroma.sqlite3"
collections_with_segments_provider:
  cache:
    nop:
  cache_ttl_secs: 60
  permitted_parallelism: 32
  cache_invalidation_retry_policy:
    delay_ms: 0
    max_retries: 0
"""


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; the suite's folder (chromadb/test)."""
    stamp = HOME / ".installed"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (BIN / "chroma").is_file()):
        print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(BIN / "python", "install", *PINS)
        stamp.write_text("\n".join(PINS))
    (tests,) = VENV.glob("lib/python*/site-packages/chromadb/test")
    return tests


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any Chroma setting or proxy of the user's; nothing reported anywhere."""
    drop = ("CHROMA_", "PYTHON", "VIRTUAL_ENV", "HYPOTHESIS", "PROPERTY_TESTING")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    env |= {"HOME": str(home), "ANONYMIZED_TELEMETRY": "False", "NO_PROXY": "127.0.0.1,localhost"}
    return env | {"PYTHONUNBUFFERED": "1", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


# --- the server --------------------------------------------------------------------------------------


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh server (new data folder) in `work`; its URL once /api/v2/heartbeat answers."""
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    port = free_port()
    config = work / "chroma.yaml"
    config.write_text(SERVER_CONFIG.format(port=port, data=data))
    log = work / "server.log"
    env = clean_env(work) | {"NO_COLOR": "1"}
    proc = start(stack, [str(BIN / "chroma"), "run", str(config)], log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/api/v2/heartbeat", proc, log)
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, server_url: str, work: Path) -> dict:
    """The client's tests against `server_url` (http://127.0.0.1:PORT), run from `work`; their counts, and
    whether anything tried to fetch the default embedding function's model into HOME."""
    work.mkdir(parents=True, exist_ok=True)
    tests = setup()
    host, port = re.fullmatch(r"http://([^:/]+):(\d+)", server_url).groups()
    env = clean_env(work / "home") | {
        "CHROMA_INTEGRATION_TEST_ONLY": "1",
        "CHROMA_SERVER_HOST": host,
        "CHROMA_SERVER_HTTP_PORT": port,
    }
    ini = work / "pytest.ini"  # Chroma's own pytest options; else pytest takes the options of a project above
    ini.write_text(PYTEST_INI)
    args = [*(str(tests / f) for f in SUITE), "-k", DESELECT, "-c", str(ini), "--rootdir", str(work)]
    counts = common.run_pytest(stack, BIN / "python", args, work, cwd=work, env=env)
    counts["downloaded"] = sorted(str(p.relative_to(work)) for p in (work / "home").glob(".cache/chroma/*"))
    return counts


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=x` for each secret the refusal names (this server has no authentication)."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        args += ["--secret", f"{name}=x"]
    return args


def redacted(out: Path) -> dict:
    """What the recorder redacted: the secrets its states file names, and its own count of redacted values."""
    states = out / f"{CONSUMER}-{PROVIDER}.states.yaml"
    text = states.read_text(errors="replace") if states.is_file() else ""
    names = re.findall(r"^  ([\w.:-]+):", text.split("\nsecrets:", 1)[1], re.M) if "\nsecrets:" in text else []
    pact = json.loads((out / f"{CONSUMER}-{PROVIDER}.json").read_text())
    counts = pact.get("metadata", {}).get("pactRecorder", {}).get("diagnostics", {}).get("redacted", {})
    return {"secrets_named": names, "redacted_in_pact": counts}


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_suite(stack, server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_suite(stack, url, out / "suite")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
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
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_failures(direct_run, recorded)
    if same:
        print(f"transparency: the same tests failed both ways: {same['same']}")
        for name in same["failing_only_direct"] + same["failing_only_recorded"]:
            print(f"  differs: {name}")
    secrets = redacted(out)
    print(
        f"redacted: {len(secrets['secrets_named'])} secret(s) named in the states file"
        f" ({', '.join(secrets['secrets_named']) or 'none'}); redacted values: {secrets['redacted_in_pact'] or 'none'}"
    )
    fetched = [*(direct_run or {}).get("downloaded", []), *recorded["downloaded"]]
    print(f"the default embedding function's model fetched into HOME: {', '.join(fetched) or 'never'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "chromadb": CHROMA,
        "pins": PINS,
        "consumer": "chromadb's own client test suite (HttpClient, the `integration` fixture), unmodified",
        "suite": SUITE,
        "deselect": DESELECT,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "redacted": secrets,
        "downloaded": fetched,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("chroma", __doc__, phases, sys.argv[1:], setup))
