"""Record the MLflow tracking server's REST API while MLflow's own Python client runs an operator's script against
it, then verify the pact against a fresh, empty server.

    .venv/bin/python bench/thirdparty/mlflow.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names (this server has no authentication, so
VALUE is only a placeholder).

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/mlflow/ with MLflow (PINS: the server, `mlflow server`, and
           the client, `mlflow.MlflowClient` and the fluent API, are the same package), installed once per pin
           set. 3.18.0 is the newest release, but its mlflow-skinny and mlflow-tracing are not on the registry
           this machine reaches, so 3.17.2.
  direct   a fresh server and the script below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer mlflow-client --provider mlflow-server` in
           front of it, the same script with MLFLOW_TRACKING_URI set to the recorder's URL; SIGTERM makes it
           write OUT/mlflow-client-mlflow-server.json.
  verify   a third fresh server (empty: only the "Default" experiment every new store has), `pact-recorder
           verify --states-from-recording`; then, refused, again on a fresh one with what it asked for
           (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, exchanges, interactions, verified green / total) and the failures grouped by
cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each server is `mlflow server --backend-store-uri sqlite:///DIR/mlflow.db --artifacts-destination DIR/artifacts
--serve-artifacts --host 127.0.0.1 --port PORT --workers 1` in its own work dir: the default artifact root is
then `mlflow-artifacts:/`, so the client uploads, lists and downloads artifacts through the server (proxied
artifacts, `/api/2.0/mlflow-artifacts/artifacts/...`) rather than writing the server's folder itself, and all of
it passes the recorder. Telemetry is off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK) for the server and the client.

The API: REST over JSON at `/api/2.0/mlflow/...` (and `/ajax-api/...`, which the client does not use): mostly
`GET` with the parameters in the query string (`experiments/get?experiment_id=1`, `runs/get?run_id=...`,
`metrics/get-history?run_id=...&metric_key=loss`) and `POST` with a JSON body for every write and search
(`experiments/create` answers `{"experiment_id": "1"}`, `runs/create` a run whose `run_id` is a random UUID hex,
`runs/log-metric`, `runs/log-batch`, `runs/search` with `filter`, `order_by`, `page_token`); `PATCH` for
model-registry updates, `DELETE` with a JSON body for registry deletes (`registered-models/delete`,
`registered-models/alias`); errors as `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}` with 400, 404
or 409; artifacts as `PUT`/`GET` of raw bytes at `/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/
<path>` and listed with `GET .../mlflow-artifacts/artifacts?path=...`. Experiments are named by the sequential
ids the server hands out ("1", "2", ... in a fresh store), runs by random ids, registered models by their names,
model versions by name and a per-model sequence number.

The script (the DRIVER below, run by the venv's python; MLflow's sdist ships no tests of the client against a
live server, only the assistant's skill tests) is an operator's script of MlflowClient and fluent calls, each
step a "test" whose outcome is "ok" or the error code of the MlflowException it raised (passed: the outcome it
is expected to have; a step also checks what it read, "wrong" when that differs). Deterministic: fixed names,
values and every timestamp the API takes (start, end, metric times from 2026-01-01T00:00:00Z); the server's run
ids are its own. It creates experiments (one with tags), gets them by name and id, renames one, sets and deletes
tags, deletes and restores one, searches them (by name pattern and tag, ordered, page by page); creates runs
(two nested under a third, by `mlflow.parentRunId`), logs params, metrics over steps with timestamps, batches
and tags, renames a run, sets runs terminated, reads a run, its metric history and its parent, searches runs
(by metric, param, tag and status, ordered, page by page, nested ones, deleted ones), deletes and restores a
run; a fluent run with a nested run; logs text, a dict, a file and a folder as artifacts, lists and downloads
them; registers a model, creates two versions, updates and tags them, moves them between stages, sets, reads and
deletes aliases, searches models and versions, renames and deletes a model, deletes a version. And sixteen
steps expected to fail: a duplicate experiment name (created, and renamed to), an experiment id none has and
one that is no number, a run in an experiment none has, a param logged again with another value, a metric of a
run none has, a run none has, bad filters for experiment and run searches, an artifact none has, a duplicate
registered model, a stage none has, an alias none has, a model and a version deleted. The client is told not
to retry (MLFLOW_HTTP_REQUEST_MAX_RETRIES=0): one request per call, as the recording should see it. Every
process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (MLflow 3.17.2, server and client): 72 steps, 72 / 72 with their expected outcome both directly
and through the recorder (the same outcome each); 190 exchanges, all recorded, 87 interactions (71 with a
provider state), nothing redacted (verify asked for no secret). verify with `--states-from-recording` alone:
45 / 87 green (with `--fresh-names` too, by hand: 43). Left, by class: creations by a name the consumer chose
(`experiments/create`, `registered-models/create`) are never undone between interactions (in this RPC-style API
the delete is another path, `experiments/delete` or `DELETE registered-models/delete` with the name in the body;
and MLflow keeps a deleted experiment's name reserved), so a later setup that replays them is refused 400
RESOURCE_ALREADY_EXISTS and its state fails, 15 (and a create, a rename and a "does not exist" read meet what an
earlier interaction left, 3); an artifact's path (`/mlflow-artifacts/artifacts/<experiment id>/<run id>/artifacts/
<file path>`) is read as collections and ids (the experiment id as "artifact 1", each folder as a collection
with the file name its id), and the setup that hands out its run id replays `runs/create` without the
experiment it names (404 "No Experiment with id=1"), 11, though each artifact request itself is answered as
recorded; a value handed out inside a longer one is not followed: a model version's `source` is the run's
`artifact_uri` plus "/model", the run id in it stays the recorded one while `run_id` is generated, so the server
refuses it (400 "Invalid model version source") and every model version, alias and version search after it
fails or finds nothing; the searches (`runs/search`, `experiments/search`, POSTs with the query in the body)
have no state, and what their answers held was built by later writes addressed by a body field (`runs/update`'s
end time, `log-batch`'s metrics and params, `set-experiment-tag`), which no setup replays, 10. The verifier
also sends `DELETE` to the RPC read paths (`/experiments/get`, `/registered-models/get`: 405).
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

MLFLOW = "3.17.2"
PINS = [f"mlflow=={MLFLOW}"]
HOME = ROOT / ".venv" / "thirdparty" / "mlflow"
VENV = HOME / "venv"
CONSUMER, PROVIDER = "mlflow-client", "mlflow-server"
SCRIPT_SECONDS = 180
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}  # never report anything anywhere
common.READY_SECONDS = max(common.READY_SECONDS, 120)  # a new server migrates its new store first: ~20 s here


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (VENV / "bin" / "mlflow").is_file():
        return VENV / "bin"
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return VENV / "bin"


def version() -> str:
    done = subprocess.run([str(VENV / "bin" / "mlflow"), "--version"], capture_output=True, text=True)
    return done.stdout.split()[-1] if done.returncode == 0 and done.stdout.split() else "?"


def clean_env(work: Path) -> dict[str, str]:
    """The environment less any MLflow setting or proxy of the user's, telemetry off."""
    drop = ("MLFLOW_", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | QUIET | {"HOME": str(work), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


# --- the server --------------------------------------------------------------------------------------


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh tracking server (new SQLite store, new artifact folder) in `work`; its URL once /health answers."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "mlflow.db").unlink(missing_ok=True)
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    port = free_port()
    cmd = [str(VENV / "bin" / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}"]
    cmd += ["--artifacts-destination", str(work / "artifacts"), "--serve-artifacts"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = work / "server.log"
    proc = start(stack, cmd, log, cwd=work, env=clean_env(work))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", proc, log)
    return url


# --- the operator's script -----------------------------------------------------------------------------


def run_script(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER with MLFLOW_TRACKING_URI=`url`, in the venv; its steps' outcomes as a suite's counts."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "operator_script.py", work / "steps.json", work / "script.log"
    driver.write_text(DRIVER)
    env = clean_env(work) | {"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    env["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
    proc = start(stack, [str(VENV / "bin" / "python"), str(driver), str(out), str(work)], log, cwd=work, env=env)
    try:
        proc.wait(SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the script did not finish within {SCRIPT_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the script wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    results = json.loads(out.read_text())
    passed = sum(r["ok"] for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [r["command"] for r in results if not r["ok"]],
        "commands": results,
    }


# --- the DRIVER: run in the venv (this file's name would shadow the mlflow package there) -------------

DRIVER = r'''
"""The operator's script: MLflow's own client against MLFLOW_TRACKING_URI, each step a "test" with its expected
outcome ("ok", or the error code the server is expected to answer with); written as JSON to argv[1]."""

import json
import sys
import warnings
import time
import traceback
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

OUT, WORK = Path(sys.argv[1]), Path(sys.argv[2])
T0 = 1767225600000  # 2026-01-01T00:00:00Z, in ms: every timestamp the API takes is T0 + something
c = MlflowClient()
warnings.filterwarnings("ignore", category=FutureWarning)  # the registry's stages are deprecated, not gone
results: list[dict] = []
ids: dict[str, str] = {}


def step(name: str, expect: str = "ok"):
    """Runs the decorated function at once as the step `name`; its outcome is "ok", the MlflowException's error
    code, "wrong: ..." for a failed check, or the exception's type."""

    def run(fn):
        t = time.monotonic()
        detail = None
        try:
            fn()
            outcome = "ok"
        except MlflowException as e:
            outcome, detail = e.error_code, str(e)
        except AssertionError as e:
            outcome, detail = "wrong", str(e) or traceback.format_exc(limit=2)
        except Exception as e:  # noqa: BLE001 - every failure is an outcome
            outcome, detail = type(e).__name__, f"{e}\n{traceback.format_exc(limit=3)}"
        result = {"command": name, "exit": outcome, "expect": expect, "ok": outcome == expect}
        result["seconds"] = round(time.monotonic() - t, 2)
        if outcome != expect and detail:
            result["output"] = detail[-600:]
        results.append(result)
        print(f"{'ok  ' if result['ok'] else 'FAIL'} {name}: {outcome}", flush=True)

    return run


def check(got, want, what=""):
    assert got == want, f"{what}: got {got!r}, want {want!r}"


# --- experiments ---------------------------------------------------------------------------------------


@step("create experiment harness-alpha with tags")
def _():
    ids["alpha"] = c.create_experiment("harness-alpha", tags={"team": "vision", "priority": "high"})


@step("create experiment harness-beta")
def _():
    ids["beta"] = c.create_experiment("harness-beta")


@step("create experiment harness-gamma")
def _():
    ids["gamma"] = c.create_experiment("harness-gamma", tags={"team": "nlp"})


@step("create experiment harness-alpha again", expect="RESOURCE_ALREADY_EXISTS")
def _():
    c.create_experiment("harness-alpha")


@step("get experiment by name")
def _():
    e = c.get_experiment_by_name("harness-alpha")
    check(e.experiment_id, ids["alpha"], "id")
    check(e.tags, {"team": "vision", "priority": "high"}, "tags")


@step("get experiment by id")
def _():
    e = c.get_experiment(ids["beta"])
    check((e.name, e.lifecycle_stage), ("harness-beta", "active"), "name, stage")


@step("get experiment by a name none has (None)")
def _():
    check(c.get_experiment_by_name("harness-nobody"), None, "experiment")


@step("get experiment 987654 (none such)", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.get_experiment("987654")


@step("get experiment by an id that is no number", expect="INVALID_PARAMETER_VALUE")
def _():
    c.get_experiment("not-a-number")


@step("rename experiment harness-gamma")
def _():
    c.rename_experiment(ids["gamma"], "harness-gamma-renamed")
    check(c.get_experiment(ids["gamma"]).name, "harness-gamma-renamed", "name")


@step("rename experiment to a name taken", expect="BAD_REQUEST")
def _():
    c.rename_experiment(ids["beta"], "harness-alpha")


@step("set and delete experiment tags")
def _():
    c.set_experiment_tag(ids["beta"], "owner", "ops")
    c.set_experiment_tag(ids["alpha"], "dataset", "cifar-10")
    c.delete_experiment_tag(ids["alpha"], "priority")
    check(c.get_experiment(ids["alpha"]).tags, {"team": "vision", "dataset": "cifar-10"}, "tags")


@step("delete experiment harness-gamma-renamed")
def _():
    c.delete_experiment(ids["gamma"])
    check(c.get_experiment(ids["gamma"]).lifecycle_stage, "deleted", "stage")


@step("search deleted experiments")
def _():
    found = c.search_experiments(view_type=ViewType.DELETED_ONLY)
    check([e.name for e in found], ["harness-gamma-renamed"], "names")


@step("restore experiment harness-gamma-renamed")
def _():
    c.restore_experiment(ids["gamma"])
    check(c.get_experiment(ids["gamma"]).lifecycle_stage, "active", "stage")


@step("search experiments by name, ordered")
def _():
    found = c.search_experiments(filter_string="name LIKE 'harness-%'", order_by=["name ASC"])
    check([e.name for e in found], ["harness-alpha", "harness-beta", "harness-gamma-renamed"], "names")


@step("search experiments by tag")
def _():
    found = c.search_experiments(filter_string="tags.team = 'vision'")
    check([e.name for e in found], ["harness-alpha"], "names")


@step("search experiments page by page")
def _():
    first = c.search_experiments(max_results=2, order_by=["name DESC"])
    assert first.token, "no page token"
    rest = c.search_experiments(max_results=2, order_by=["name DESC"], page_token=first.token)
    names = [e.name for e in first] + [e.name for e in rest]
    check(names, ["harness-gamma-renamed", "harness-beta", "harness-alpha", "Default"], "names")


@step("search experiments with a bad filter", expect="INVALID_PARAMETER_VALUE")
def _():
    c.search_experiments(filter_string="name ~~ 'x'")


# --- runs ------------------------------------------------------------------------------------------------


@step("create run baseline")
def _():
    r = c.create_run(ids["alpha"], start_time=T0, tags={"model": "linear"}, run_name="baseline")
    ids["r1"] = r.info.run_id
    check(r.info.run_name, "baseline", "run name")


@step("create run tuned")
def _():
    r = c.create_run(ids["alpha"], start_time=T0 + 1000, tags={"model": "tree"}, run_name="tuned")
    ids["r2"] = r.info.run_id


@step("create nested runs under tuned")
def _():
    for n in (1, 2):
        tags = {"mlflow.parentRunId": ids["r2"], "fold": str(n)}
        r = c.create_run(ids["alpha"], start_time=T0 + 2000 + n, tags=tags, run_name=f"fold-{n}")
        ids[f"child{n}"] = r.info.run_id


@step("create run in experiment 987654", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.create_run("987654", start_time=T0)


@step("log params")
def _():
    c.log_param(ids["r1"], "lr", "0.01")
    c.log_param(ids["r1"], "epochs", 10)
    c.log_param(ids["r1"], "optimizer", "sgd")


@step("log the same param with another value", expect="INVALID_PARAMETER_VALUE")
def _():
    c.log_param(ids["r1"], "lr", "0.02")


@step("log metric loss over 5 steps")
def _():
    for n, value in enumerate([0.9, 0.6, 0.45, 0.38, 0.31]):
        c.log_metric(ids["r1"], "loss", value, timestamp=T0 + 10_000 * (n + 1), step=n)


@step("log metric accuracy")
def _():
    c.log_metric(ids["r1"], "accuracy", 0.72, timestamp=T0 + 60_000, step=4)


@step("log a batch of metrics, params and tags")
def _():
    metrics = [Metric("loss", v, T0 + 11_000 * (n + 1), n) for n, v in enumerate([0.8, 0.5, 0.25])]
    metrics.append(Metric("accuracy", 0.91, T0 + 40_000, 2))
    params = [Param("lr", "0.05"), Param("max_depth", "6"), Param("optimizer", "adam")]
    tags = [RunTag("note", "best so far"), RunTag("gpu", "none")]
    c.log_batch(ids["r2"], metrics=metrics, params=params, tags=tags)


@step("log metrics of the folds")
def _():
    for n in (1, 2):
        metrics = [Metric("loss", {1: 0.34, 2: 0.36}[n], T0 + 50_000, 0)]
        c.log_batch(ids[f"child{n}"], metrics=metrics, params=[Param("fold", str(n))])


@step("log metric to a run none has", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.log_metric("0" * 32, "loss", 1.0, timestamp=T0, step=0)


@step("set and delete run tags")
def _():
    c.set_tag(ids["r1"], "stage", "dev")
    c.set_tag(ids["r1"], "reviewed", "no")
    c.delete_tag(ids["r1"], "reviewed")


@step("rename run baseline")
def _():
    c.update_run(ids["r1"], name="baseline-v2")


@step("set runs terminated")
def _():
    c.set_terminated(ids["r1"], "FINISHED", end_time=T0 + 120_000)
    c.set_terminated(ids["r2"], "FINISHED", end_time=T0 + 130_000)
    c.set_terminated(ids["child1"], "FINISHED", end_time=T0 + 90_000)
    c.set_terminated(ids["child2"], "FAILED", end_time=T0 + 95_000)


@step("get run baseline-v2")
def _():
    r = c.get_run(ids["r1"])
    check(r.info.run_name, "baseline-v2", "name")
    times = (r.info.status, r.info.start_time, r.info.end_time)
    check(times, ("FINISHED", T0, T0 + 120_000), "status, times")
    check(r.data.params, {"lr": "0.01", "epochs": "10", "optimizer": "sgd"}, "params")
    check(r.data.metrics, {"loss": 0.31, "accuracy": 0.72}, "metrics")
    tags = {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")}
    check(tags, {"model": "linear", "stage": "dev"}, "tags")


@step("get run none has", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.get_run("f" * 32)


@step("get metric history")
def _():
    history = c.get_metric_history(ids["r1"], "loss")
    want = [(n, v, T0 + 10_000 * (n + 1)) for n, v in enumerate([0.9, 0.6, 0.45, 0.38, 0.31])]
    check([(m.step, m.value, m.timestamp) for m in history], want, "history")


@step("get parent run")
def _():
    check(c.get_parent_run(ids["child1"]).info.run_id, ids["r2"], "parent")


@step("search runs by metric, ordered")
def _():
    found = c.search_runs([ids["alpha"]], filter_string="metrics.loss < 0.35", order_by=["metrics.loss ASC"])
    check([r.info.run_name for r in found], ["tuned", "baseline-v2", "fold-1"], "runs")


@step("search runs by param and tag")
def _():
    found = c.search_runs([ids["alpha"]], filter_string="params.optimizer = 'adam' and tags.model = 'tree'")
    check([r.info.run_name for r in found], ["tuned"], "runs")


@step("search runs by status, by start time")
def _():
    by = ["attributes.start_time DESC"]
    found = c.search_runs([ids["alpha"]], filter_string="attributes.status = 'FINISHED'", order_by=by)
    check([r.info.run_name for r in found], ["fold-1", "tuned", "baseline-v2"], "runs")


@step("search nested runs of tuned")
def _():
    where = f"tags.mlflow.parentRunId = '{ids['r2']}'"
    found = c.search_runs([ids["alpha"]], filter_string=where, order_by=["run_name"])
    check([r.info.run_name for r in found], ["fold-1", "fold-2"], "runs")


@step("search runs page by page")
def _():
    first = c.search_runs([ids["alpha"]], max_results=3, order_by=["attributes.start_time ASC"])
    by = ["attributes.start_time ASC"]
    rest = c.search_runs([ids["alpha"]], max_results=3, order_by=by, page_token=first.token)
    names = [r.info.run_name for r in first] + [r.info.run_name for r in rest]
    check(names, ["baseline-v2", "tuned", "fold-1", "fold-2"], "runs")


@step("search runs with a bad filter", expect="INVALID_PARAMETER_VALUE")
def _():
    c.search_runs([ids["alpha"]], filter_string="metrics.loss <<< 1")


@step("delete run fold-2")
def _():
    c.delete_run(ids["child2"])
    check(c.get_run(ids["child2"]).info.lifecycle_stage, "deleted", "stage")


@step("search deleted runs")
def _():
    found = c.search_runs([ids["alpha"]], run_view_type=ViewType.DELETED_ONLY)
    check([r.info.run_name for r in found], ["fold-2"], "runs")
    check(len(c.search_runs([ids["alpha"]])), 3, "active runs")


@step("restore run fold-2")
def _():
    c.restore_run(ids["child2"])
    check(len(c.search_runs([ids["alpha"]], run_view_type=ViewType.ACTIVE_ONLY)), 4, "active runs")


@step("fluent: a run with a nested run in harness-beta")
def _():
    mlflow.set_experiment("harness-beta")
    context = {"mlflow.source.name": "operator-script", "mlflow.source.type": "LOCAL", "mlflow.user": "operator"}
    with mlflow.start_run(run_name="fluent-parent", tags=context) as parent:
        ids["fluent"] = parent.info.run_id
        mlflow.log_params({"batch_size": 32, "seed": 7})
        mlflow.log_metrics({"loss": 0.5, "f1": 0.66}, step=0, timestamp=T0 + 5_000)
        mlflow.set_tags({"phase": "fluent"})
        with mlflow.start_run(run_name="fluent-child", nested=True, tags=context) as child:
            mlflow.log_metric("loss", 0.4, step=1, timestamp=T0 + 6_000)
            ids["fluent_child"] = child.info.run_id
    check(c.get_run(ids["fluent_child"]).data.tags["mlflow.parentRunId"], ids["fluent"], "parent")
    check(c.get_run(ids["fluent"]).info.status, "FINISHED", "status")


@step("fluent: search runs as a DataFrame-free list")
def _():
    found = mlflow.search_runs(experiment_names=["harness-beta"], output_format="list", order_by=["run_name"])
    check([r.info.run_name for r in found], ["fluent-child", "fluent-parent"], "runs")


# --- artifacts ---------------------------------------------------------------------------------------------


@step("log text and a dict as artifacts")
def _():
    c.log_text(ids["r1"], "trained on the harness's data\n", "notes/readme.txt")
    c.log_dict(ids["r1"], {"layers": [64, 32], "activation": "relu"}, "config/model.json")


@step("log a file and a folder as artifacts")
def _():
    files = WORK / "artifacts-in"
    (files / "bundle" / "deep").mkdir(parents=True, exist_ok=True)
    (files / "labels.csv").write_text("id,label\n1,cat\n2,dog\n")
    (files / "bundle" / "a.txt").write_text("alpha\n")
    (files / "bundle" / "deep" / "b.txt").write_text("beta\n")
    c.log_artifact(ids["r1"], str(files / "labels.csv"), "data")
    c.log_artifacts(ids["r1"], str(files / "bundle"), "bundle")
    c.log_text(ids["r2"], "name: tuned\nflavor: none\n", "model/MLmodel")


@step("list artifacts")
def _():
    want = [("bundle", True), ("config", True), ("data", True), ("notes", True)]
    check([(f.path, f.is_dir) for f in c.list_artifacts(ids["r1"])], want, "root")
    deep = c.list_artifacts(ids["r1"], "bundle/deep")
    check([(f.path, f.file_size) for f in deep], [("bundle/deep/b.txt", 5)], "bundle/deep")
    check(c.list_artifacts(ids["r1"], "nowhere"), [], "nowhere")


@step("download artifacts")
def _():
    out = WORK / "artifacts-out"
    out.mkdir(exist_ok=True)
    path = c.download_artifacts(ids["r1"], "notes/readme.txt", str(out))
    check(Path(path).read_text(), "trained on the harness's data\n", "readme")
    loaded = mlflow.artifacts.load_dict(f"runs:/{ids['r1']}/config/model.json")
    check(loaded, {"layers": [64, 32], "activation": "relu"}, "dict")
    folder = c.download_artifacts(ids["r1"], "bundle", str(out))
    check(sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*.txt")), ["a.txt", "deep/b.txt"], "bundle")


@step("download an artifact none has", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.download_artifacts(ids["r1"], "notes/missing.txt", str(WORK))


# --- model registry ----------------------------------------------------------------------------------------


@step("create registered model harness-classifier")
def _():
    tags = {"task": "classification"}
    m = c.create_registered_model("harness-classifier", tags=tags, description="the harness's model")
    check(m.name, "harness-classifier", "name")


@step("create registered model harness-classifier again", expect="RESOURCE_ALREADY_EXISTS")
def _():
    c.create_registered_model("harness-classifier")


@step("create model versions 1 and 2")
def _():
    for n, run in ((1, "r1"), (2, "r2")):
        source = f"{c.get_run(ids[run]).info.artifact_uri}/model"
        tags = {"origin": run}
        v = c.create_model_version("harness-classifier", source, run_id=ids[run], tags=tags, description=f"v{n}")
        check(v.version, str(n), "version")


@step("get model version 2")
def _():
    v = c.get_model_version("harness-classifier", "2")
    check((v.run_id, v.description, v.tags), (ids["r2"], "v2", {"origin": "r2"}), "run, description, tags")


@step("update a model version and tag it")
def _():
    c.update_model_version("harness-classifier", "1", description="the baseline")
    c.set_model_version_tag("harness-classifier", "1", "validated", "false")
    c.delete_model_version_tag("harness-classifier", "1", "origin")
    check(c.get_model_version("harness-classifier", "1").tags, {"validated": "false"}, "tags")


@step("transition model versions between stages")
def _():
    c.transition_model_version_stage("harness-classifier", "1", "Staging")
    c.transition_model_version_stage("harness-classifier", "2", "Production", archive_existing_versions=True)
    check(c.get_model_version("harness-classifier", "1").current_stage, "Staging", "stage of 1")


@step("transition to a stage none has", expect="INVALID_PARAMETER_VALUE")
def _():
    c.transition_model_version_stage("harness-classifier", "1", "Attic")


@step("latest versions per stage")
def _():
    latest = c.get_latest_versions("harness-classifier", stages=["Production"])
    check([(v.version, v.current_stage) for v in latest], [("2", "Production")], "production")


@step("set, read and delete aliases")
def _():
    c.set_registered_model_alias("harness-classifier", "champion", "2")
    c.set_registered_model_alias("harness-classifier", "challenger", "1")
    check(c.get_model_version_by_alias("harness-classifier", "champion").version, "2", "champion")
    c.delete_registered_model_alias("harness-classifier", "challenger")
    check(c.get_registered_model("harness-classifier").aliases, {"champion": "2"}, "aliases")


@step("read an alias none has", expect="INVALID_PARAMETER_VALUE")
def _():
    c.get_model_version_by_alias("harness-classifier", "challenger")


@step("update registered model and its tags")
def _():
    c.update_registered_model("harness-classifier", description="classifies the harness's images")
    c.set_registered_model_tag("harness-classifier", "owner", "ops")
    c.delete_registered_model_tag("harness-classifier", "task")
    m = c.get_registered_model("harness-classifier")
    check((m.description, m.tags), ("classifies the harness's images", {"owner": "ops"}), "description, tags")


@step("create, rename and delete registered model harness-regressor")
def _():
    c.create_registered_model("harness-regressor")
    c.rename_registered_model("harness-regressor", "harness-regressor-v2")
    check(c.get_registered_model("harness-regressor-v2").name, "harness-regressor-v2", "name")
    c.delete_registered_model("harness-regressor-v2")


@step("get registered model none has", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.get_registered_model("harness-regressor-v2")


@step("search registered models")
def _():
    c.create_registered_model("harness-segmenter", tags={"task": "segmentation"})
    found = c.search_registered_models(filter_string="name LIKE 'harness-%'", order_by=["name ASC"])
    check([m.name for m in found], ["harness-classifier", "harness-segmenter"], "models")


@step("search model versions")
def _():
    found = c.search_model_versions("name = 'harness-classifier'", order_by=["version_number DESC"])
    check([(v.version, v.current_stage) for v in found], [("2", "Production"), ("1", "Staging")], "versions")
    check([v.version for v in c.search_model_versions(f"run_id = '{ids['r1']}'")], ["1"], "by run")


@step("delete model version 1")
def _():
    c.delete_model_version("harness-classifier", "1")
    check([v.version for v in c.search_model_versions("name = 'harness-classifier'")], ["2"], "versions")


@step("get model version deleted", expect="RESOURCE_DOES_NOT_EXIST")
def _():
    c.get_model_version("harness-classifier", "1")


@step("model version download uri")
def _():
    assert c.get_model_version_download_uri("harness-classifier", "2").endswith("/model"), "uri"


# --- the end -----------------------------------------------------------------------------------------------


@step("search every run of both experiments")
def _():
    found = c.search_runs([ids["alpha"], ids["beta"]], order_by=["run_name ASC"])
    want = ["baseline-v2", "fluent-child", "fluent-parent", "fold-1", "fold-2", "tuned"]
    check([r.info.run_name for r in found], want, "runs")


OUT.write_text(json.dumps(results, indent=1) + "\n")
'''


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names (this server has no authentication: a placeholder)."""
    return [a for name in re.findall(r"^\s+([\w.-]+): needed by", message, re.M) for a in ("--secret", f"{name}=x")]


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_script(stack, start_server(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_script(stack, url, out)
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
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "mlflow": version(),
        "consumer": "MLflow's own Python client (MlflowClient and the fluent API), an operator's script",
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("mlflow", __doc__, phases, sys.argv[1:], setup))
