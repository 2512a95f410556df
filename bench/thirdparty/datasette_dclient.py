"""Record Datasette (its JSON query API and its write API with signed API tokens) while the real dclient CLI runs
a user's session against it, then verify the pact against a fresh, empty Datasette.

    .venv/bin/python bench/thirdparty/datasette_dclient.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit
2: the recording redacted every request's `Authorization: Bearer dstok_...` and nobody gave one), that refusal
and its message are the first figure, and verify runs once more with the least the message asks for: VERIFY_ARGS
(everything after `--`, which make that second run in any case) if given, else `--secret NAME=TOKEN` for each
NAME it names, TOKEN the fresh Datasette's own root token. Then a diagnostic (verify-header): the same token
as `--header 'Authorization: Bearer TOKEN'`, which fills every redacted Authorization, the refused ones too.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/datasette_dclient/ with Datasette (the provider, a 1.0
           alpha: the JSON write API and API tokens) and dclient (the consumer, Datasette's CLI client), pinned
           with the httpx, click and sqlite-utils they resolve to, from PyPI.
  direct   a fresh Datasette (`datasette serve data.db --create --secret S --root` on a free port of 127.0.0.1:
           a new empty SQLite file, the root actor allowed everything) and the session below run straight
           against it (--no-direct leaves this out: ~10 s).
  record   another fresh Datasette, `pact-recorder record --consumer dclient --provider datasette` in front of
           it, the same session pointed at the recorder; SIGTERM makes it write OUT/dclient-datasette.json.
  verify   a third fresh Datasette (a new empty data.db: no table, no row), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh Datasette with the extra above (verify2),
           and the --header diagnostic on another (verify-header).
Then it prints the figures (steps whose exit code is the expected one through the recorder and directly, how
many gave the same exit code and the same output both ways, exchanges, interactions, verified green / total)
and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

The session is the consumer's own usage, as a developer's shell script would run it: each command is one
"test" (passed: the exit code it is expected to have; 0, or the refusal a step provokes on purpose, such as
inserting a duplicate primary key or querying a missing table). The root token is made the way Datasette's
docs say (`datasette create-token root --secret S`, S the secret the server was started with), once per
server start, and handed to dclient with `dclient auth add`; an alias and a default database make the later
commands bare (`dclient rows people`). dclient has no command to update, delete or drop: those few steps are
`curl` with the same token against the documented JSON endpoints (`/-/update`, `/-/delete`, `/-/drop`).
Pagination goes through `_next` both ways: `dclient rows --all` follows each page's `next_url`, and a `dclient
get` sends the `_next` token an earlier page handed out. dclient keeps its aliases and tokens under
DCLIENT_CONFIG_DIR, one per phase. Every process started is stopped on the way out, on failure and on Ctrl-C
or SIGTERM too.
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

DATASETTE = "1.0a41"
DCLIENT = "0.5a3"
PINS = [f"datasette=={DATASETTE}", f"dclient=={DCLIENT}", "sqlite-utils==4.2.1", "httpx==0.29.0", "click==8.5.1"]
HOME = ROOT / ".venv" / "thirdparty" / "datasette_dclient"
VENV = HOME / "venv"
SECRET = "pact-recorder-harness-secret"  # signs the root's API tokens; the same for every start
COMMAND_SECONDS = 60
TEAMS = [(1, "blue", "navy"), (2, "red", "crimson"), (3, "green", "olive")]
PEOPLE = [
    (1, "alice", "blue", 31), (2, "bob", "red", 42), (3, "carol", "blue", 27), (4, "dave", "green", 55),
    (5, "erin", "red", 38), (6, "frank", "blue", 29), (7, "grace", "green", 46), (8, "heidi", "red", 33),
    (9, "ivan", "blue", 61), (10, "judy", "green", 24), (11, "mallory", "red", 50), (12, "oscar", "blue", 36),
]  # fmt: skip


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    ready = (VENV / "bin" / "datasette").is_file() and (VENV / "bin" / "dclient").is_file()
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and ready:
        return VENV / "bin"
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return VENV / "bin"


# --- Datasette ---------------------------------------------------------------------------------------


def start_datasette(stack: ExitStack, work: Path) -> tuple[str, str]:
    """A fresh Datasette on a new empty data.db; (its URL once /-/versions.json answers, a root API token)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "data.db").unlink(missing_ok=True)
    port = free_port()
    log = work / "datasette.log"
    cmd = [str(VENV / "bin" / "datasette"), "serve", str(work / "data.db"), "--create", "-h", "127.0.0.1"]
    cmd += ["-p", str(port), "--secret", SECRET, "--root"]
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/-/versions.json", proc, log)
    return url, root_token()


def root_token() -> str:
    """A signed API token for the root actor, as the docs make one: `datasette create-token root --secret S`."""
    cmd = [str(VENV / "bin" / "datasette"), "create-token", "root", "--secret", SECRET]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    if done.returncode or not done.stdout.startswith("dstok_"):
        raise RuntimeError(f"datasette create-token failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


# --- the dclient session -----------------------------------------------------------------------------


class Session:
    """Runs dclient (and curl) commands against one Datasette, each a "test" of its own, with a dclient config
    folder of its own."""

    def __init__(self, endpoint: str, token: str, work: Path):
        self.endpoint, self.token, self.work = endpoint, token, work
        self.log = work / "session.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATASETTE_", "DCLIENT_"))}
        self.env["DCLIENT_CONFIG_DIR"] = str(work / "dclient-config")
        self.results: list[dict] = []

    def run(self, name: str, cmd: list[str], expect: int) -> str:
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {name}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err)
        text = out.decode(errors="replace")
        result = {"command": name, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        # what the step printed, with the endpoint it ran against made neutral: compared direct vs recorded
        result["output"] = (text + err.decode(errors="replace")).replace(self.endpoint, "ENDPOINT")
        self.results.append(result)
        return text

    def dclient(self, *args: str, expect: int = 0) -> str:
        shown = " ".join(args).replace(self.token, "$TOKEN").replace(self.endpoint, "$URL")
        return self.run("dclient " + shown, [str(VENV / "bin" / "dclient"), *args], expect)

    def curl(self, path: str, body: dict, expect: int = 0) -> str:
        """A POST of JSON to one of the write API's endpoints dclient has no command for (`-f`: exit 22 on 4xx)."""
        cmd = ["curl", "-sS", "-f", "-X", "POST", "-H", f"Authorization: Bearer {self.token}"]
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body), self.endpoint + path]
        return self.run(f"curl -X POST {path} {json.dumps(body)}", cmd, expect)

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


def make_files(work: Path) -> Path:
    """The files the session inserts: CSV, JSON (nested values too) and newline-delimited JSON."""
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "teams.csv").write_text("id,name,colour\n" + "".join(f"{i},{n},{c}\n" for i, n, c in TEAMS))
    (files / "people.csv").write_text("id,name,team,age\n" + "".join(f"{i},{n},{t},{a}\n" for i, n, t, a in PEOPLE))
    events = [
        {"id": n, "kind": kind, "person": person, "detail": {"source": "harness", "tags": ["a", kind]}}
        for n, kind, person in ((1, "login", 1), (2, "upload", 2), (3, "login", 3), (4, "logout", 1))
    ]
    (files / "events.json").write_text(json.dumps(events))
    (files / "dupe.csv").write_text("id,name,team,age\n1,alice2,blue,32\n")
    (files / "upsert.json").write_text(json.dumps([{"id": 2, "age": 43}, {"id": 13, "name": "peggy", "team": "red"}]))
    (files / "newcol.csv").write_text("id,name,team,age,city\n14,trent,green,40,Oslo\n")
    more = ({"id": n, "name": f"n{n}", "team": "blue"} for n in (15, 16))
    (files / "more.nl").write_text("".join(json.dumps(row) + "\n" for row in more))
    return files


def run_session(endpoint: str, token: str, work: Path) -> dict:
    """A user's session: an alias, a token and a default database configured; the instance looked at; tables
    created by an explicit schema and by inserts of CSV, JSON and NL, a refused duplicate then --ignore and
    --replace, an upsert, a refused new column then --alter; rows browsed with filters, sorting, columns,
    formats and pages (`_next`); SQL queries (a join, an aggregate, CSV output, a refused one); facets, the CSV
    export, a row's page; an update, a delete and a drop; a write refused for a bad token."""
    work.mkdir(parents=True, exist_ok=True)
    files = make_files(work)
    s = Session(endpoint, token, work)
    d = s.dclient
    # configuration (local) and the instance
    d("alias", "add", "ds", endpoint)
    d("auth", "add", "ds", "--token", token)
    d("default", "instance", "ds")
    d("default", "database", "ds", "data")
    d("alias", "list")
    d("auth", "status")
    d("actor")
    d("databases")
    d("databases", "--json")
    d("plugins")
    d("get", "/-/versions.json")
    # writes: a table by schema, tables by insert, refusals and their options
    d("create-table", "data", "teams", "--column", "id", "integer", "--column", "name", "text",
      "--column", "colour", "text", "--pk", "id")  # fmt: skip
    d("insert", "data", "teams", str(files / "teams.csv"), "--csv", "--silent")
    d("insert", "data", "people", str(files / "people.csv"), "--csv", "--create", "--pk", "id", "--silent")
    d("insert", "data", "events", str(files / "events.json"), "--json", "--create", "--pk", "id")
    d("insert", "data", "people", str(files / "dupe.csv"), "--csv", "--silent", expect=1)  # UNIQUE constraint
    d("insert", "data", "people", str(files / "dupe.csv"), "--csv", "--ignore", "--silent")
    d("insert", "data", "people", str(files / "dupe.csv"), "--csv", "--replace", "--silent")
    d("upsert", "data", "people", str(files / "upsert.json"), "--json")
    d("insert", "data", "people", str(files / "newcol.csv"), "--csv", "--silent", expect=1)  # no column city
    d("insert", "data", "people", str(files / "newcol.csv"), "--csv", "--alter", "--silent")
    d("insert", "data", "people", str(files / "more.nl"), "--nl")
    d("insert", "data", "people", str(files / "more.nl"), "--nl", "--token", "dstok_not-a-real-token", expect=1)
    # reads: the schema, rows, pages
    d("tables")
    d("tables", "--json")
    d("schema", "people")
    d("schema", "--json")
    d("rows", "people")
    d("rows", "people", "--size", "5", "--all")  # follows next_url page by page
    d("rows", "people", "-f", "team", "eq", "blue", "--sort-desc", "age", "-t")
    d("rows", "people", "-f", "age", "gte", "40", "--col", "name", "--col", "age", "--csv")
    d("rows", "people", "--nocol", "age", "--sort", "name", "--limit", "3", "--nl")
    d("rows", "data", "events", "-f", "kind", "eq", "login", "--tsv")
    # SQL queries
    d("query", "data", "select team, count(*) as n, avg(age) as mean from people group by team order by team")
    d("query", "data", "select p.name, t.colour from people p join teams t on t.name = p.team order by p.id", "--csv")
    d("query", "data", "select json_extract(detail, '$.source') as source, count(*) as n from events group by 1")
    d("query", "data", "select * from nosuch", expect=1)
    d("select count(*) as people from people")  # the bare form: default instance and database
    # the JSON API as it is: facets, shapes, the CSV export, a row, a page by its _next token
    d("get", "/data/people.json?_facet=team&_size=0")
    d("get", "/data/people.json?_shape=array&_sort=age&age__lt=30")
    d("get", "/data/people.csv?_size=max")
    d("get", "/data/people/1.json")
    first = d("get", "/data/people.json?_size=4&_sort=id")
    next_token = json.loads(first).get("next") if first.strip().startswith("{") else None
    d("get", f"/data/people.json?_size=4&_sort=id&_next={next_token or 'none'}")
    d("get", "/data/nosuch.json", expect=1)  # 404
    # what dclient has no command for: update, delete, drop (curl with the same token)
    s.curl("/data/people/2/-/update", {"update": {"age": 44}})
    s.curl("/data/people/3/-/delete", {})
    s.curl("/data/people/3/-/delete", {}, expect=22)  # 404: already gone
    d("rows", "people", "-f", "id", "lte", "3")
    s.curl("/data/events/-/drop", {"confirm": True})
    d("tables")
    return s.counts()


def transparency(direct: dict | None, recorded: dict) -> dict | None:
    """How many steps gave the same exit code, and the same output, through the recorder as directly."""
    if not direct:
        return None
    pairs = list(zip(direct["commands"], recorded["commands"], strict=True))
    differ = [f"{d['command']}: {d['exit']} -> {r['exit']}" for d, r in pairs if d["exit"] != r["exit"]]
    output = [d["command"] for d, r in pairs if neutral(d["output"]) != neutral(r["output"])]
    return {
        "same_exit": len(pairs) - len(differ),
        "same_output": len(pairs) - len(output),
        "steps": len(pairs),
        "differ": differ,
        "output_differs": output,
    }


def neutral(text: str) -> str:
    """A step's output without what differs between two runs by design: the token, timings."""
    text = re.sub(r"dstok_[\w.-]+", "dstok_…", text)
    return re.sub(r'"query_ms": [\d.e-]+', '"query_ms": 0', text)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url, token = start_datasette(stack, work / "direct" / "datasette")
            direct_run = run_session(url, token, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        url, token = start_datasette(stack, out / "datasette")
        recorder, proxy, log = common.start_recorder(stack, "dclient", "datasette", url, out)
        recorded = run_session(proxy, token, out)
        common.finish_recording(recorder, log)
    pact = out / "dclient-datasette.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        url, token = start_datasette(stack, work / "verify" / "datasette")
        report, outcome = common.verify_outcome(stack, pact, url, work / "verify", args)
        runs.append(outcome)
    asked = re.findall(r"pass --secret (\w+)=VALUE", outcome["message"]) if report is None else []
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh Datasette
        with timed(seconds, "verify2"), ExitStack() as stack:
            url, token = start_datasette(stack, work / "verify2" / "datasette")
            extra = [a for name in asked for a in ("--secret", f"{name}={token}")]
            args = [*args, *(verify_args or extra or ["--header", f"Authorization: Bearer {token}"])]
            report, outcome = common.verify_outcome(stack, pact, url, work / "verify2", args)
            runs.append(outcome | {"args": [a.replace(token, "<fresh root token>") for a in args]})
            args = runs[-1]["args"]
    header = None
    if asked and not verify_args:  # the diagnostic: the token as --header, which fills every redacted value
        with timed(seconds, "verify-header"), ExitStack() as stack:
            url, token = start_datasette(stack, work / "verify-header" / "datasette")
            extra = ["--states-from-recording", "--header", f"Authorization: Bearer {token}"]
            header, outcome = common.verify_outcome(stack, pact, url, work / "verify-header", extra)
            runs.append(outcome | {"args": [a.replace(token, "<fresh root token>") for a in extra]})
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:6], f"... ({len(lines) - 6} more lines like these)"] if len(lines) > 7 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = transparency(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']}/{same['steps']} steps gave the same exit code as directly, "
              f"{same['same_output']}/{same['steps']} the same output")  # fmt: skip
        for line in [*same["differ"], *(f"output differs: {c}" for c in same["output_differs"])]:
            print(f"  {line}")
    if header:
        print(f"--header diagnostic: {common.verify_figures(header)['green']} / {len(header['interactions'])} green")
        for g in common.group_failures(header):
            print(f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}")
    return {
        "datasette": DATASETTE,
        "dclient": DCLIENT,
        "pins": PINS,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report) if report else {"green": 0, "total": 0, "refused": runs[-1]},
        "failures": common.group_failures(report) if report else [],
        "verify_header": common.verify_figures(header) if header else None,
        "failures_header": common.group_failures(header) if header else None,
    }


if __name__ == "__main__":
    sys.exit(common.main("datasette_dclient", __doc__, phases, sys.argv[1:], setup))
