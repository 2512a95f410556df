"""Record Prefect's API server while Prefect's own client and CLI run a data team's and an operator's session
against it, then verify the pact against a fresh, empty server.

    .venv/bin/python bench/thirdparty/prefect.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names (this server has no authentication, so
VALUE is the Secret block's value where the name says "value", else a placeholder).

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/prefect/ with Prefect (PINS: the server, `prefect server
           start`, the client library and the CLI are the same package), installed once per pin set.
  direct   a fresh server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer prefect-client --provider prefect-server` in
           front of it, the same session with PREFECT_API_URL set to the recorder's URL plus /api; SIGTERM
           makes it write OUT/prefect-client-prefect-server.json.
  verify   a third fresh server (empty: only the block types every new server registers), `pact-recorder
           verify --states-from-recording`; then, refused, again on a fresh one with what it asked for
           (verify2).
Then it prints the figures (steps whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, whether the Secret block's value reached any
file the recorder wrote, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each server is `prefect server start --host 127.0.0.1 --port PORT` with a PREFECT_HOME and a SQLite database of
its own (PREFECT_SERVER_DATABASE_CONNECTION_URL), the dashboard off (PREFECT_SERVER_UI_ENABLED=false), its
background services as they come (scheduler, late runs, task run recorder, event persister, ...). Nothing
reports anywhere: PREFECT_SERVER_ANALYTICS_ENABLED=false, DO_NOT_TRACK=1, the client's resource metrics and
Cloud telemetry off, every *_proxy variable dropped, for the server and the client alike.

The API: REST over JSON at `/api/...`: resources by the UUIDs the server hands out (`/flow_runs/{id}`,
`/task_runs/{id}`, `/deployments/{id}`), and by name where the CLI looks them up so (`/flows/name/{name}`,
`/deployments/name/{flow}/{deployment}`, `/work_pools/{name}`, `/variables/name/{name}`,
`/concurrency_limits/tag/{tag}`, `/block_types/slug/{slug}/block_documents/name/{name}`); reads and searches
as `POST .../filter` with a JSON filter body (`/flow_runs/filter`, `/flows/filter`, `/logs/filter`,
`/artifacts/filter`, `/block_documents/filter`); flow run states set by `POST /flow_runs/{id}/set_state`
(the server's orchestration rules may answer ABORT/REJECT/WAIT); idempotent "upserts" (`POST /flows/` by
name answers the existing flow, `POST /deployments/` by flow and name updates); logs in batches (`POST
/logs/`); task runs and their states reported as events over a websocket (`/api/events/in`), which the
server's task run recorder turns into task runs; block documents whose Secret fields the API obfuscates
unless `?include_secrets=true`.

The session (each step a "test", passed when it has its expected exit code: 0, or 1 for the refusals it
provokes on purpose), as a data team and an operator run it: the team's flows as plain python scripts
(FLOWS: a three-task ETL flow that logs and creates a markdown and a table artifact; a flow whose task fails
twice and succeeds on its second retry; a flow that fails, retries once and fails again (exit 1); a flow
with parameters, run twice; a parent flow with three subflows); the CLI's `flow ls`, `flow-run ls` (all, by
flow name), `flow-run inspect` (of a completed and of the failed run), `flow-run logs`, `artifact ls` and
`inspect`; `work-pool create/ls/inspect/pause/resume/delete`; `variable set/get/ls/unset` (and `--overwrite`);
`concurrency-limit create/inspect/ls/delete` and `global-concurrency-limit create/ls/inspect/delete`; blocks
(BLOCKS: a Secret block and a block type of the team's own, registered by saving it, loaded back, overwritten;
`block ls`, `block type ls`, `block inspect`, `block delete`); deployments (DEPLOY: `flow.to_deployment(...)
.apply()` with no work pool, and `flow.from_source(...).deploy(...)` to the process work pool; `deployment
ls`, `inspect`, `run` with a parameter, `delete`: no worker, so their runs stay scheduled); a flow run
deleted; and the refusals: a flow run, a work pool, a variable, a concurrency limit, a deployment, a block
and an artifact none has, a work pool and a variable created again without `--overwrite`, a Secret saved
again, a variable unset twice, a work pool deleted twice, a Secret loaded that none saved. Flow and task runs
have fixed names (`flow_run_name`, `task_run_name`); ids the session uses later (flow runs) are written by
the flows script to a file and read back. The client does not retry (PREFECT_CLIENT_MAX_RETRIES=0); the CLI
never prompts (PREFECT_CLI_PROMPT=false, stdin from /dev/null). Every process started is stopped on the
way out, on failure and on Ctrl-C or SIGTERM too.

First contact (Prefect 3.9.1, server, client and CLI): 64 steps, 64 / 64 with their expected exit code both
directly and through the recorder (the same exit code each); 286 exchanges, 278 recorded (the 8 websockets of
the client's events, `/api/events/in`, which carry the task runs' states, left out: "Pact cannot describe it"),
94 interactions (82 with a provider state). The Secret block's value IS on disk, in clear: in the pact (the
request body of `POST /api/block_documents/` that saves it, `data.value`, and the answer of `GET
/api/block_types/slug/secret/block_documents/name/warehouse-password?include_secrets=true`) and 3 times in the
states file; what was redacted is 6 example passwords of the block schemas' JSON schema. verify with
`--states-from-recording` alone: exit 1, nothing asked for (no exit 2: the API has no authentication), 73 / 94
green. The 21 red, by class:
  - the built-in Secret block type's id (4): a new server registers its block types itself, each with a new
    UUID; the recording's `block_type_id` (from `GET /api/block_types/slug/secret`, a read with no state) is
    sent as recorded, and Prefect answers an unknown one 500 (`AssertionError: Block type ... not found`): the
    Secret's save `POST /api/block_documents/` 201 -> 500 and its repeat 409 -> 500, and the setups that replay
    that save fail, so `POST /api/block_documents/filter` finds [] and `GET .../secret/block_documents/name/
    warehouse-password` 200 -> 404;
  - enum values in request bodies taken for names the consumer chose and made fresh (5): `sort:
    "EXPECTED_START_TIME_DESC-55"` (`POST /api/flow_runs/filter`) and `operator: "and_-66"` (`POST
    /api/flows/filter`) 200 -> 422; the setup's replay of `POST /api/work_pools/` sends the process pool's
    `base_job_template` with a JSON-schema `"type": "boolean-47"`, refused 422 ("Invalid schema"), so the states
    of `POST /api/work_pools/filter`, a flow-run filter and `POST /api/deployments/{id}/create_flow_run` fail;
  - a flow run's life not replayed (3): the setup creates the flow run (`POST /api/flow_runs/`), not its
    `set_state` transitions (RUNNING, COMPLETED; the task runs' go by the skipped websocket), so `start_time`,
    `end_time` and `state.state_details.transition_id` are null where the recording had values (`GET
    /api/flow_runs/{id}`, two `POST /api/flow_runs/filter`);
  - what an earlier interaction or setup made by name, left in place (3), and a conflict not set up (1): `GET
    /api/block_types/slug/harness-warehouse-config` and `GET /api/concurrency_limits/tag/database` 404 -> 200
    under "slug/tag does not exist", `POST /api/work_pools/` (harness-pool, no state) 201 -> 409; the
    overwrite's first `POST /api/block_documents/` of pipeline-config 409 -> 201 (its states make the block type
    and schema, not the document it collides with);
  - `Vary: Accept-Encoding` (3 alone, 4 in all): the server's GZip middleware compresses answers of 500 bytes
    and more; the recorded lists were shorter, the verified ones hold what earlier setups left (more
    variables, limits, artifacts), so they are compressed and `Vary` is `Accept-Encoding`, not `Origin`
    (`POST /api/variables/filter`, `/api/v2/concurrency_limits/filter`, `/api/artifacts/filter`);
  - SQLite busy (2): the server's own background services (event persister, task run recorder) write the
    same SQLite file; a write that finds it locked is answered 503, which Prefect's client retries and verify
    does not: `PATCH /api/block_documents/{id}` 204 -> 503, and a setup's `POST /api/flow_runs/` 503 (`GET
    /api/deployments/name/harness-params/pooled`); 3 undos (`DELETE /api/flows/{id}`, `/api/flow_runs/{id}`)
    were answered 503 too and left what they should have removed. Which writes meet a locked database varies:
    a second run (--no-direct) had 74 / 94, the same classes, with one 503 (`PATCH /api/work_pools/harness-pool`).
One run: direct ~5 min, record 3.5 to 6 min, verify under 1 min (~12 min in all, 4 to 7 with --no-direct); the
setup, once, ~1 min.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PREFECT = "3.9.1"
PINS = [f"prefect=={PREFECT}"]
HOME = ROOT / ".venv" / "thirdparty" / "prefect"
VENV = HOME / "venv"
BIN = VENV / "bin"
CONSUMER, PROVIDER = "prefect-client", "prefect-server"
SECRET = "wh-Pa55-harness-7f3c9e"  # the Secret block's value: must reach no file the recorder writes
STEP_SECONDS = 180
QUIET = {  # never report anything anywhere, never prompt
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLI_PROMPT": "false",
}
common.READY_SECONDS = max(common.READY_SECONDS, 120)  # a new server migrates its new database first: ~20 s here


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (BIN / "prefect").is_file():
        return BIN
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(BIN / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return BIN


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any Prefect setting or proxy of the user's, nothing reported anywhere."""
    drop = ("PREFECT_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    env |= QUIET | {"HOME": str(home), "PREFECT_HOME": str(home / "prefect-home"), "NO_PROXY": "127.0.0.1,localhost"}
    return env | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


# --- the server --------------------------------------------------------------------------------------


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh API server (new PREFECT_HOME, new SQLite database) in `work`; its URL once /api/health answers."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "prefect.db").unlink(missing_ok=True)
    shutil.rmtree(work / "prefect-home", ignore_errors=True)
    port = free_port()
    env = clean_env(work) | {"PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{work / 'prefect.db'}"}
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    log = work / "server.log"
    proc = start(stack, cmd, log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/api/health", proc, log)
    return url


# --- the consumer's scripts (run by the venv's python, in the phase's work dir) ----------------------

FLOWS = r'''"""The data team's flows, run as a plain script: `python flows.py SCENARIO IDS_FILE` (exit 1: it failed)."""
import json
import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

ATTEMPTS = {"n": 0}


@task(task_run_name="extract-{source}")
def extract(source: str) -> list[int]:
    get_run_logger().info("extracting from %s", source)
    return [3, 1, 4, 1, 5, 9, 2, 6]


@task(task_run_name="transform")
def transform(rows: list[int]) -> list[int]:
    return sorted(set(rows))


@task(task_run_name="load")
def load(rows: list[int]) -> int:
    get_run_logger().info("loaded %d rows", len(rows))
    return len(rows)


@flow(name="harness-etl", flow_run_name="etl-nightly", log_prints=True)
def etl(source: str = "orders") -> int:
    n = load(transform(extract(source)))
    create_markdown_artifact(key="etl-report", markdown=f"# ETL\n\nloaded **{n}** rows", description="nightly")
    create_table_artifact(key="etl-rows", table=[{"source": source, "rows": n}])
    print(f"done: {n} rows")
    return n


@task(task_run_name="flaky-call", retries=2, retry_delay_seconds=0)
def flaky_call() -> str:
    ATTEMPTS["n"] += 1
    if ATTEMPTS["n"] < 3:
        raise RuntimeError(f"upstream timed out (attempt {ATTEMPTS['n']})")
    return "ok"


@flow(name="harness-flaky", flow_run_name="flaky-retries")
def flaky() -> str:
    return flaky_call()


@task(task_run_name="divide")
def divide(a: int, b: int) -> float:
    return a / b


@flow(name="harness-broken", flow_run_name="broken", retries=1, retry_delay_seconds=0)
def broken() -> float:
    get_run_logger().warning("about to divide by zero")
    return divide(1, 0)


@flow(name="harness-params", flow_run_name="params-{region}-{limit}")
def params(region: str = "eu", limit: int = 10, dry_run: bool = False) -> dict:
    return {"region": region, "limit": limit, "dry_run": dry_run}


@flow(name="harness-child", flow_run_name="child-{part}")
def child(part: int) -> int:
    return transform.submit([part, part * 2]).result()[-1]


@flow(name="harness-parent", flow_run_name="parent-batch")
def parent(parts: int = 3) -> int:
    return sum(child(p) for p in range(1, parts + 1))


if __name__ == "__main__":
    scenario, ids_file = sys.argv[1], Path(sys.argv[2])
    ids = json.loads(ids_file.read_text()) if ids_file.is_file() else {}
    fn, kw = {
        "etl": (etl, {"source": "orders"}),
        "flaky": (flaky, {}),
        "broken": (broken, {}),
        "params-eu": (params, {"region": "eu", "limit": 10}),
        "params-us": (params, {"region": "us", "limit": 250, "dry_run": True}),
        "parent": (parent, {}),
    }[scenario]
    state = fn(**kw, return_state=True)
    ids[scenario] = str(state.state_details.flow_run_id)
    ids_file.write_text(json.dumps(ids))
    print(scenario, state.type.value, ids[scenario])
    sys.exit(0 if state.is_completed() else 1)
'''

BLOCKS = r'''"""The team's blocks: `python blocks.py WHAT`; the Secret from HARNESS_SECRET, on no command line."""
import os
import sys

from prefect.blocks.core import Block
from prefect.blocks.system import Secret

SECRET = os.environ["HARNESS_SECRET"]


class WarehouseConfig(Block):
    _block_type_name = "Harness Warehouse Config"
    bucket: str
    retention_days: int


what = sys.argv[1]
if what == "save":
    Secret(value=SECRET).save("warehouse-password")
    WarehouseConfig(bucket="harness-data", retention_days=30).save("pipeline-config")
elif what == "load":
    assert Secret.load("warehouse-password").get() == SECRET, "the secret read back differs"
    assert WarehouseConfig.load("pipeline-config").retention_days == 30, "config"
elif what == "save-again":
    Secret(value="another").save("warehouse-password")  # refused: it exists and no overwrite
elif what == "overwrite":
    WarehouseConfig(bucket="harness-data", retention_days=90).save("pipeline-config", overwrite=True)
    assert WarehouseConfig.load("pipeline-config").retention_days == 90, "config"
elif what == "load-missing":
    Secret.load("no-such-secret")
print("ok")
'''

DEPLOY = r'''"""Deployments of the params flow: `python deploy.py apply|pool` (no worker: their runs stay scheduled)."""
import sys

from flows import params

if sys.argv[1] == "apply":
    d = params.to_deployment(name="nightly", parameters={"region": "eu", "limit": 5}, tags=["harness"],
                             description="nightly params run")
    print(d.apply())
elif sys.argv[1] == "pool":
    source = params.from_source(source=".", entrypoint="flows.py:params")
    print(source.deploy(name="pooled", work_pool_name="harness-pool", parameters={"region": "apac"},
                        print_next_steps=False))
'''


# --- the session -------------------------------------------------------------------------------------


class Session:
    """Runs the team's scripts and CLI commands against one API URL, each a "test" of its own."""

    def __init__(self, api: str, work: Path):
        self.work = work
        self.log = work / "session.log"
        self.env = clean_env(work) | {
            "PREFECT_API_URL": api,
            "PREFECT_CLIENT_MAX_RETRIES": "0",
            "HARNESS_SECRET": SECRET,
        }
        self.results: list[dict] = []

    def run(self, argv: list[str], expect: int = 0) -> str:
        shown = " ".join(argv).replace(f"{BIN}/", "")
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    argv, cwd=self.work, env=self.env, capture_output=True, timeout=STEP_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
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
        return out.decode(errors="replace")

    def prefect(self, *args: str, expect: int = 0) -> str:
        return self.run([str(BIN / "prefect"), *args], expect)

    def py(self, script: str, *args: str, expect: int = 0) -> str:
        return self.run([str(BIN / "python"), script, *args], expect)

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


NONE_ID = "00000000-0000-0000-0000-000000000000"


def run_session(api: str, work: Path) -> dict:
    """The data team's flows, then the operator's CLI session, against the API at `api` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    for name, text in (("flows.py", FLOWS), ("blocks.py", BLOCKS), ("deploy.py", DEPLOY)):
        (work / name).write_text(text)
    ids_file = work / "ids.json"
    ids_file.unlink(missing_ok=True)
    s = Session(api, work)
    p = s.prefect
    # the data team's flows
    s.py("flows.py", "etl", "ids.json")
    s.py("flows.py", "flaky", "ids.json")
    s.py("flows.py", "broken", "ids.json", expect=1)
    s.py("flows.py", "params-eu", "ids.json")
    s.py("flows.py", "params-us", "ids.json")
    s.py("flows.py", "parent", "ids.json")
    ids = json.loads(ids_file.read_text()) if ids_file.is_file() else {}
    none = NONE_ID
    # what ran
    p("flow", "ls")
    p("flow-run", "ls")
    p("flow-run", "ls", "--flow-name", "harness-params")
    p("flow-run", "inspect", ids.get("etl", none))
    p("flow-run", "inspect", ids.get("broken", none))
    p("flow-run", "logs", ids.get("flaky", none))
    p("flow-run", "inspect", NONE_ID, expect=1)
    p("artifact", "ls")
    p("artifact", "inspect", "etl-report")
    p("artifact", "inspect", "no-such-artifact", expect=1)
    # work pools
    p("work-pool", "create", "harness-pool", "--type", "process")
    p("work-pool", "create", "harness-pool", "--type", "process", expect=1)  # exists, no --overwrite
    p("work-pool", "ls")
    p("work-pool", "inspect", "harness-pool")
    p("work-pool", "pause", "harness-pool")
    p("work-pool", "resume", "harness-pool")
    p("work-pool", "inspect", "missing-pool", expect=1)
    # variables
    p("variable", "set", "batch_size", "500")
    p("variable", "set", "batch_size", "600", expect=1)  # exists, no --overwrite
    p("variable", "set", "batch_size", "600", "--overwrite")
    p("variable", "set", "target_region", "eu-west-1", "--tag", "harness")
    p("variable", "get", "batch_size")
    p("variable", "ls")
    p("variable", "unset", "batch_size")
    p("variable", "unset", "batch_size", expect=1)
    p("variable", "get", "missing_variable", expect=1)
    # concurrency limits
    p("concurrency-limit", "create", "database", "2")
    p("concurrency-limit", "inspect", "database")
    p("concurrency-limit", "ls")
    p("concurrency-limit", "delete", "database")
    p("concurrency-limit", "inspect", "database", expect=1)
    p("global-concurrency-limit", "create", "warehouse", "--limit", "3")
    p("global-concurrency-limit", "ls")
    p("global-concurrency-limit", "inspect", "warehouse")
    p("global-concurrency-limit", "delete", "warehouse")
    # blocks
    s.py("blocks.py", "save")
    s.py("blocks.py", "load")
    s.py("blocks.py", "save-again", expect=1)
    s.py("blocks.py", "overwrite")
    s.py("blocks.py", "load-missing", expect=1)
    p("block", "ls")
    p("block", "type", "ls")
    p("block", "inspect", "secret/warehouse-password")
    p("block", "delete", "harness-warehouse-config/pipeline-config")
    p("block", "inspect", "harness-warehouse-config/pipeline-config", expect=1)
    # deployments (no worker: their runs stay scheduled)
    s.py("deploy.py", "apply")
    s.py("deploy.py", "pool")
    p("deployment", "ls")
    p("deployment", "inspect", "harness-params/nightly")
    p("deployment", "run", "harness-params/nightly", "--param", "region=us")
    p("deployment", "run", "harness-params/pooled")
    p("deployment", "inspect", "harness-params/missing", expect=1)
    p("flow-run", "ls", "--state-type", "SCHEDULED")
    p("deployment", "delete", "harness-params/pooled")
    p("work-pool", "delete", "harness-pool")
    p("work-pool", "delete", "harness-pool", expect=1)
    # a flow run deleted
    p("flow-run", "delete", ids.get("params-eu", none))
    p("flow-run", "inspect", ids.get("params-eu", none), expect=1)
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the Secret block's value for a name that is
    a block's value, else a placeholder (this server has no authentication)."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        args += ["--secret", f"{name}={SECRET if 'value' in name.lower() else 'x'}"]
    return args


def secrets_on_disk(out: Path) -> list[str]:
    """Every file the recorder wrote (the pact, its states, kept bodies) that holds the Secret's value."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    files += [p for d in out.glob(f"{CONSUMER}-{PROVIDER}*") if d.is_dir() for p in d.rglob("*") if p.is_file()]
    return sorted({str(p.relative_to(out)) for p in files if SECRET in p.read_text(errors="replace")})


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server + "/api", work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url + "/api", out / "session")
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
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        shown = " ".join(run["args"]).replace(SECRET, "****")
        print(f"verify run {n}: exit {run['exit']}  ({shown})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print(f"the Secret block's value in clear in: {', '.join(leaked) or 'none of the files the recorder wrote'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "prefect": PREFECT,
        "consumer": "Prefect's own client (flows run as scripts, blocks, deployments) and CLI, a 60-step session",
        "verify_args": [a.replace(SECRET, "****") for a in args],
        "verify_runs": [run | {"args": [a.replace(SECRET, "****") for a in run["args"]]} for run in runs],
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
    sys.exit(common.main("prefect", __doc__, phases, sys.argv[1:], setup))
