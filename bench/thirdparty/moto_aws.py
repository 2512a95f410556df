"""Record moto's standalone server (S3, SQS, DynamoDB) while the real AWS CLI runs a user's session against it,
then verify the pact against a fresh, empty moto.

    .venv/bin/python bench/thirdparty/moto_aws.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start
(exit 2: the recording redacted every request's SigV4 `Authorization` and nobody gave one), that refusal and
its message are the first figure, and verify runs once more with the least a user can add: VERIFY_ARGS
(everything after `--`, which make that second run in any case) if given, else one dummy `Authorization`
header for every request, s3-scoped, as `--header` fills all of a header's redacted values (moto checks no
signature, but picks the service by the credential scope).

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/moto_aws/ with moto[server] (the provider) and awscli
           (the consumer, v1: the one on PyPI), pinned with the botocore/boto3 they resolve to.
  direct   a fresh moto (`moto_server -H 127.0.0.1 -p PORT`, in memory) and the session below run straight
           against it with `--endpoint-url` (--no-direct leaves this out: ~1 min).
  record   another fresh moto, `pact-recorder record --consumer aws-cli --provider moto` in front of it,
           the same session pointed at the recorder; SIGTERM makes it write OUT/aws-cli-moto.json.
  verify   a third fresh moto (empty: no bucket, queue or table), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh moto with the extra above (verify2);
           then, unless VERIFY_ARGS were given, a diagnostic (verify-scoped): every redacted Authorization
           given by `--secret` as a SigV4 value of its own request's service (S3, SQS or DynamoDB, told by
           X-Amz-Target), which splits what the service routing costs from the rest.
Then it prints the figures (steps whose exit code is the expected one through the recorder and directly,
how many gave the same exit code both ways, exchanges, interactions, verified green / total) and the
failures grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

The session is the consumer's own usage, as a developer's shell script would run it: each `aws` command is
one "test" (passed: the exit code it is expected to have; 0, or the refusal a step provokes on purpose,
such as removing a bucket that still holds objects), with dummy credentials in the environment
(testing/testing, us-east-1) and a config file of its own per phase. S3 goes path-style to the endpoint,
SigV4-signed; a 9 MiB upload makes the CLI use a multipart upload (8 MiB parts), its download ranged GETs.
SQS and DynamoDB speak JSON over `POST /` (the operation in `X-Amz-Target`). Steps that need a value an
earlier answer handed out (an UploadId, a QueueUrl, a ReceiptHandle) read it from that command's JSON
output. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

MOTO = "5.2.6"
AWSCLI = "1.46.3"
PINS = [f"moto[server]=={MOTO}", f"awscli=={AWSCLI}", "botocore==1.44.18", "boto3==1.44.18", "s3transfer==0.19.3"]
HOME = ROOT / ".venv" / "thirdparty" / "moto_aws"
VENV = HOME / "venv"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
COMMAND_SECONDS = 120
BIG = 9 * 1024 * 1024  # over the CLI's 8 MiB multipart threshold: two parts


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    ready = (VENV / "bin" / "moto_server").is_file() and (VENV / "bin" / "aws").is_file()
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and ready:
        return VENV / "bin"
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return VENV / "bin"


# --- moto --------------------------------------------------------------------------------------------


def start_moto(stack: ExitStack, work: Path) -> str:
    """A fresh moto server (everything in memory); its URL once /moto-api/data.json answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "moto.log"
    proc = start(stack, [str(VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/data.json", proc, log)
    return url


# --- the AWS CLI session -----------------------------------------------------------------------------


class Session:
    """Runs `aws` commands against one endpoint, each a "test" of its own, in a HOME of its own."""

    def __init__(self, endpoint: str, work: Path):
        self.endpoint, self.work = endpoint, work
        self.log = work / "aws.log"
        home = work / "home"
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\noutput = json\n")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env = (
            inherited
            | CREDENTIALS
            | {
                "HOME": str(home),
                "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "",
            }
        )
        self.results: list[dict] = []

    def aws(self, *args: str, expect: int = 0) -> dict | None:
        """`aws ARGS --endpoint-url ENDPOINT`; its JSON output (None when there is none or it failed)."""
        name = "aws " + " ".join(args)
        cmd = [str(VENV / "bin" / "aws"), *args, "--endpoint-url", self.endpoint]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {name}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err)
        result = {"command": name, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        try:
            return json.loads(out) if code == 0 and out.strip() else None
        except ValueError:
            return None

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
    """The files the session uploads: a note, a JSON document, three logs, and a 9 MiB blob."""
    files = work / "files"
    (files / "logs").mkdir(parents=True, exist_ok=True)
    (files / "note.txt").write_text("a note uploaded by the pact-recorder harness\n")
    (files / "data.json").write_text(json.dumps({"id": 7, "tags": ["a", "b"], "ok": True}) + "\n")
    for n in ("a", "b", "c"):
        (files / "logs" / f"{n}.log").write_text(f"log {n}\n" * 20)
    (files / "big.bin").write_bytes(random.Random(7).randbytes(BIG))
    return files


def run_session(endpoint: str, work: Path) -> dict:
    """A user's session: S3 buckets and objects with the high-level commands and s3api (a multipart upload
    the CLI makes, one made by hand and aborted, copies, tags, a batch delete, a bucket refused removal
    while it holds objects), an SQS queue's life (messages sent, received, deleted, purged), a DynamoDB
    table's (items put, read, queried, deleted)."""
    work.mkdir(parents=True, exist_ok=True)
    files = make_files(work)
    s = Session(endpoint, work)
    photos, logs = "s3://harness-photos", "s3://harness-logs"
    # S3, the high-level commands
    s.aws("s3", "mb", photos)
    s.aws("s3", "mb", logs)
    s.aws("s3", "ls")
    s.aws("s3", "cp", str(files / "note.txt"), f"{photos}/notes/note.txt")
    s.aws("s3", "cp", str(files / "data.json"), f"{photos}/data/data.json", "--content-type", "application/json")
    s.aws("s3", "cp", str(files / "big.bin"), f"{photos}/big/big.bin")  # multipart: create, 2 parts, complete
    s.aws("s3", "ls", photos)
    s.aws("s3", "ls", photos, "--recursive")
    s.aws("s3", "cp", f"{photos}/notes/note.txt", str(work / "note-down.txt"))
    s.aws("s3", "cp", f"{photos}/big/big.bin", str(work / "big-down.bin"))  # ranged GETs
    s.aws("s3", "sync", str(files / "logs"), f"{logs}/2024/")
    s.aws("s3", "rm", f"{logs}/2024/b.log")
    # S3, the API
    bucket = "harness-photos"
    s.aws("s3api", "put-object", "--bucket", bucket, "--key", "api/hello.txt", "--body", str(files / "note.txt"),
          "--metadata", "owner=alice")  # fmt: skip
    s.aws("s3api", "head-object", "--bucket", bucket, "--key", "api/hello.txt")
    s.aws("s3api", "get-object", "--bucket", bucket, "--key", "api/hello.txt", str(work / "hello-down.txt"))
    s.aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "notes/")
    s.aws("s3api", "list-objects-v2", "--bucket", bucket, "--delimiter", "/")
    s.aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "api/hello.txt",
          "--tagging", "TagSet=[{Key=team,Value=blue}]")  # fmt: skip
    s.aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "api/hello.txt")
    s.aws("s3api", "copy-object", "--bucket", "harness-logs", "--key", "copied/hello.txt",
          "--copy-source", f"{bucket}/api/hello.txt")  # fmt: skip
    s.aws("s3api", "delete-object", "--bucket", bucket, "--key", "api/hello.txt")
    s.aws("s3api", "head-object", "--bucket", bucket, "--key", "api/hello.txt", expect=255)  # 404
    batch = {"Objects": [{"Key": "notes/note.txt"}, {"Key": "data/data.json"}], "Quiet": False}
    s.aws("s3api", "delete-objects", "--bucket", bucket, "--delete", json.dumps(batch))
    upload = s.aws("s3api", "create-multipart-upload", "--bucket", "harness-logs", "--key", "manual/part.bin")
    s.aws("s3api", "list-multipart-uploads", "--bucket", "harness-logs")
    upload_id = (upload or {}).get("UploadId", "none")
    s.aws("s3api", "upload-part", "--bucket", "harness-logs", "--key", "manual/part.bin", "--part-number", "1",
          "--upload-id", upload_id, "--body", str(files / "note.txt"))  # fmt: skip
    s.aws("s3api", "abort-multipart-upload", "--bucket", "harness-logs", "--key", "manual/part.bin",
          "--upload-id", upload_id)  # fmt: skip
    s.aws("s3", "rb", photos, expect=1)  # BucketNotEmpty: big/big.bin is still there
    s.aws("s3", "rm", photos, "--recursive")
    s.aws("s3", "rb", photos)
    s.aws("s3", "rb", logs, "--force")
    # SQS
    s.aws("sqs", "create-queue", "--queue-name", "harness-jobs", "--attributes", "VisibilityTimeout=60")
    queue = (s.aws("sqs", "get-queue-url", "--queue-name", "harness-jobs") or {}).get("QueueUrl", "none")
    s.aws("sqs", "list-queues")
    for n in (1, 2, 3):
        s.aws("sqs", "send-message", "--queue-url", queue, "--message-body", f'{{"job": {n}}}')
    s.aws("sqs", "send-message", "--queue-url", queue, "--message-body", "with attributes",
          "--message-attributes", '{"kind": {"DataType": "String", "StringValue": "report"}}')  # fmt: skip
    s.aws("sqs", "get-queue-attributes", "--queue-url", queue, "--attribute-names", "All")
    got = s.aws("sqs", "receive-message", "--queue-url", queue, "--max-number-of-messages", "1")
    handle = ((got or {}).get("Messages") or [{}])[0].get("ReceiptHandle", "none")
    s.aws("sqs", "delete-message", "--queue-url", queue, "--receipt-handle", handle)
    entries = [{"Id": f"m{n}", "MessageBody": f"batch {n}"} for n in (1, 2)]
    s.aws("sqs", "send-message-batch", "--queue-url", queue, "--entries", json.dumps(entries))
    s.aws("sqs", "purge-queue", "--queue-url", queue)
    s.aws("sqs", "receive-message", "--queue-url", queue)
    s.aws("sqs", "delete-queue", "--queue-url", queue)
    s.aws("sqs", "get-queue-url", "--queue-name", "harness-jobs", expect=255)  # NonExistentQueue
    # DynamoDB
    table = ["--table-name", "harness-users"]
    s.aws("dynamodb", "create-table", *table, "--billing-mode", "PAY_PER_REQUEST",
          "--attribute-definitions", "AttributeName=team,AttributeType=S", "AttributeName=name,AttributeType=S",
          "--key-schema", "AttributeName=team,KeyType=HASH", "AttributeName=name,KeyType=RANGE")  # fmt: skip
    s.aws("dynamodb", "describe-table", *table)
    for name, age in (("alice", "31"), ("bob", "42")):
        item = {"team": {"S": "blue"}, "name": {"S": name}, "age": {"N": age}}
        s.aws("dynamodb", "put-item", *table, "--item", json.dumps(item))
    key = json.dumps({"team": {"S": "blue"}, "name": {"S": "alice"}})
    s.aws("dynamodb", "get-item", *table, "--key", key)
    s.aws("dynamodb", "query", *table, "--key-condition-expression", "team = :t",
          "--expression-attribute-values", '{":t": {"S": "blue"}}')  # fmt: skip
    s.aws("dynamodb", "delete-item", *table, "--key", key)
    s.aws("dynamodb", "delete-table", *table)
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def sigv4(service: str) -> str:
    """A well-formed SigV4 Authorization value for `service` (moto routes by its credential scope)."""
    scope = f"testing/20260101/us-east-1/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"


def scoped_secrets(pact: Path) -> list[str]:
    """`--secret NAME=VALUE` for every Authorization the recording redacted, each scoped to the service its
    request went to (X-Amz-Target `DynamoDB_...` or `AmazonSQS...`, else S3): what a user who knew every
    request's service would give; a diagnostic beside the first contact."""
    doc = json.loads(pact.read_text())
    states = yaml.safe_load(pact.with_name(pact.name.replace(".json", ".states.yaml")).read_text()) or {}
    found: dict[str, str] = {}
    for i in doc["interactions"]:
        target = (i["request"].get("headers", {}).get("X-Amz-Target") or [""])[0]
        for e in i.get("comments", {}).get("pactRecorder", {}).get("secrets", []):
            found[e["secret"]] = target
    for step in (states.get("steps") or {}).values():
        target = next((v for k, v in step.get("headers", []) if k.lower() == "x-amz-target"), "")
        for e in step.get("secrets", []):
            found.setdefault(e["secret"], target)
    args = []
    for name, target in sorted(found.items()):
        service = "dynamodb" if target.startswith("DynamoDB") else "sqs" if target.startswith("AmazonSQS") else "s3"
        args += ["--secret", f"{name}={sigv4(service)}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_moto(stack, work / "direct" / "moto"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        moto = start_moto(stack, out / "moto")
        recorder, url, log = common.start_recorder(stack, "aws-cli", "moto", moto, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / "aws-cli-moto.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        report, outcome = common.verify_outcome(
            stack, pact, start_moto(stack, work / "verify" / "moto"), work / "verify", args
        )
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra
        args = [*args, *(verify_args or ["--header", f"Authorization: {sigv4('s3')}"])]
        with timed(seconds, "verify2"), ExitStack() as stack:
            moto = start_moto(stack, work / "verify2" / "moto")
            report, outcome = common.verify_outcome(stack, pact, moto, work / "verify2", args)
            runs.append(outcome)
    scoped = None
    if not verify_args:  # the diagnostic: every request with an Authorization of its own service
        with timed(seconds, "verify-scoped"), ExitStack() as stack:
            moto = start_moto(stack, work / "verify-scoped" / "moto")
            extra = ["--states-from-recording", *scoped_secrets(pact)]
            scoped, outcome = common.verify_outcome(stack, pact, moto, work / "verify-scoped", extra)
            runs.append(outcome | {"args": ["--states-from-recording", "--secret NAME=<SigV4 of its service> ..."]})
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:4], f"... ({len(lines) - 4} more lines like these)"] if len(lines) > 5 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']}/{same['steps']} steps gave the same exit code as directly")
    if scoped:
        print(f"scoped diagnostic: {common.verify_figures(scoped)['green']} / {len(scoped['interactions'])} green")
        for g in common.group_failures(scoped):
            print(f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}")
    return {
        "moto": MOTO,
        "awscli": AWSCLI,
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
        "verify_scoped": common.verify_figures(scoped) if scoped else None,
        "failures_scoped": common.group_failures(scoped) if scoped else None,
    }


if __name__ == "__main__":
    sys.exit(common.main("moto_aws", __doc__, phases, sys.argv[1:], setup))
