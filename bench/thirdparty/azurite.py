"""Record Azurite (Microsoft's Azure Storage emulator, its Blob service) while the real Python SDK,
azure-storage-blob, runs an application's integration session against it, then verify the pact against a
fresh, empty Azurite.

    .venv/bin/python bench/thirdparty/azurite.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start
(exit 2: the recording redacted every request's Shared Key `Authorization` and nobody gave one), that refusal
and its message are the first figure, and verify runs once more with the least the message asks for:
VERIFY_ARGS (everything after `--`, which make that second run in any case) if given, else `--secret
NAME=VALUE` for each NAME it names, VALUE a well-formed Shared Key header of the dev account
(`SharedKey devstoreaccount1:<base64 of 32 zero bytes>`): no fixed value can be the right one, since every
request's signature is an HMAC of that request (its x-ms-date, its x-ms-client-request-id, its path, query
and headers). Then, unless VERIFY_ARGS were given, a diagnostic run (verify-empty) with every asked secret
given as the empty string: the nearest verify lets one come to "no secret at all".

What it does, each phase timed:
  setup    under .venv/thirdparty/azurite/: Azurite from npm (`npm install --prefix npm azurite@VERSION`, run
           by the machine's node >= 20; Azurite 3.37 declares node >= 22 but serves on 20) and a venv with
           azure-storage-blob and azure-core (the consumer), every package pinned.
  direct   a fresh Azurite and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Azurite, `pact-recorder record --consumer azure-storage-blob --provider azurite`
           in front of it, the same session with the recorder's address as the account URL
           (http://127.0.0.1:RECPORT/devstoreaccount1); SIGTERM makes it write
           OUT/azure-storage-blob-azurite.json.
  verify   a third fresh Azurite (empty: no container), `pact-recorder verify --states-from-recording`; then,
           refused, again on a fresh Azurite with what it asked for (verify2), and the diagnostic above.
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many
had the same outcome both ways, whether the account key or a signature reached the kept files, exchanges,
interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each Azurite is `node .../azurite/dist/src/blob/main.js --blobHost 127.0.0.1 --blobPort PORT --location DIR
--skipApiVersionCheck --loose --silent --disableTelemetry` (the Blob service alone; a new, empty location
each phase; no telemetry: no network), with its built-in dev account devstoreaccount1 and the account key
Azurite's documentation publishes: every request is signed with Shared Key (`Authorization: SharedKey
devstoreaccount1:<HMAC-SHA256 of the request's canonical string>`) and carries `x-ms-date`, `x-ms-version`
and a fresh `x-ms-client-request-id` (a uuid). Azurite checks every signature.

The session is an application's integration test run, written as the SDK's users write theirs: each step
is one "test" (passed: the outcome it is expected to have: success with the right answer, or the refusal
the step provokes on purpose, by its status: 404, 409, 412, 304). It goes through the SDK's sync clients
(BlobServiceClient, ContainerClient, BlobClient) with `retry_total=0` (one exchange per call, no retry to
hide a refusal), `max_single_put_size` 1 MiB and `max_block_size` 512 KiB (so a 2.5 MiB upload goes by
blocks: five Put Block and a Put Block List) and `max_single_get_size`/`max_chunk_get_size` 1 MiB (its
download by ranged GETs): account information and service properties; containers created (one with
metadata), refused (409 for an existing one), listed by prefix, read, their metadata set, leased; blobs
uploaded (text, JSON with metadata and a content type, three logs under a prefix, an append blob appended
to, 2.5 MiB by the SDK's blocks and 3 blocks staged by hand and committed with `commit_block_list`, their
block lists read before and after), downloaded (whole and ranged), their properties, metadata, HTTP headers
and tags read and set, found by tag; listings with a prefix, with `/` as the delimiter, with metadata and
with snapshots; a copy within the account (`start_copy_from_url` of the source's URL, i.e. the recorder's
address while recording) and its status; a snapshot, the blob overwritten and the snapshot read back;
a lease acquired, a write without it refused (412), with it accepted, released; conditional requests (a
write with a wrong ETag: 412; with the right one: accepted; a read `If-None-Match` its ETag: 304; an upload
without overwrite over an existing blob: 409); the expected refusals of missing things (404); a batch
delete (`delete_blobs`: one multipart/mixed `POST ?comp=batch` whose sub-requests are signed each), blobs
and containers deleted and their absence checked. Every process started is stopped on the way out, on
failure and on Ctrl-C or SIGTERM too.

The diagnostic verify-signed (left out when VERIFY_ARGS are given) runs verify2's arguments again with a
relay of this harness's own between verify and a fresh Azurite that signs every request carrying a
`SharedKey` Authorization afresh with the dev key (its string to sign built as Azurite's
BlobSharedKeyAuthenticator builds it; the session passes 69 / 69 through it): what is left once the
signatures are had, i.e. what a Shared Key signer in verify, like the SigV4 one it has, would leave.

First contact (Azurite 3.37.0 on node 20, azure-storage-blob 12.31.1, azure-core 1.41.0): 69 steps, 69 / 69
with their expected outcome both directly and through the recorder (the same outcome each); 78 exchanges, 78
recorded, 61 interactions (60 with a provider state; `get_service_properties` and `get_account_information`
are one interaction, `GET /devstoreaccount1/ (query comp, restype)`, their operation being in the query's
values). On disk: not the account key; every request's `Authorization` redacted (`SharedKey <redacted>`: 61
in the pact, 33 in the states file), but the two signatures inside the body of the batch delete (`POST
/devstoreaccount1/harness-logs?restype=container&comp=batch`, multipart/mixed, one signed sub-request per
blob: `Authorization: SharedKey devstoreaccount1:<HMAC>` of `DELETE .../2024/a.log` and `.../b.log`) are in
clear in both files. verify with `--states-from-recording` alone: exit 2, 71 secrets asked for
(`authorization`, `authorization_2` ... `authorization_77`: one per signature, each needed by 1 or 2
requests); with `--secret NAME=SharedKey devstoreaccount1:<dummy>` for each: 0 / 61 green, and the same 0 / 61
with every secret given as the empty string (verify-empty): Azurite answers every request and every setup
step 403 `AuthorizationFailure` ("Server failed to authenticate the request. Make sure the value of the
Authorization header is formed correctly including the signature"). By first cause: state setup 56 (its
first recorded step refused, e.g. `GET /devstoreaccount1/harness-photos/notes/note.txt returns 206` given
`note exists`: setup step 1 `PUT /devstoreaccount1/harness-photos?restype=container` answered 403, recorded
201), status 201 -> 403: 2 (`PUT /devstoreaccount1/harness-photos returns 201` given `item does not exist`),
404 -> 403: 2 (`GET`/`DELETE /devstoreaccount1/harness-none`, the expected 404s), 200 -> 403: 1 (`GET
/devstoreaccount1/?restype=service&comp=properties`). No fixed value can do better: a Shared Key signature
is an HMAC of the request's own x-ms-date, x-ms-client-request-id, path, query and length, and verify has no
Shared Key signer (only SigV4's). Behind the signatures (verify-signed): 15 / 61, the rest by first cause:
state setup 41, of which 39 a container's create (`PUT ...?restype=container`) answered 409
ContainerAlreadyExists because the undo between interactions never removed it: the undo `DELETE
/devstoreaccount1/harness-logs` is sent without `?restype=container` (400), the blob undos are refused
(`DELETE .../notes/note.txt`: 409 SnapshotsPresent without `x-ms-delete-snapshots`; `.../data/data.json`:
412 LeaseIdMissing while the recorded lease holds it), and 2 the copy's setup (`PUT
.../copies/note-copy.txt` with `x-ms-copy-source` the recorder's absolute URL of `notes/note.txt`: 404
BlobNotFound, the source not made); listings short of the blobs the states should have made (`Expected child
<Blob/>`): 3 (`find_blobs_by_tags`, `list_blobs` of harness-logs with and without a prefix); creates 201 ->
409 on what earlier interactions left: 2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

AZURITE = "3.37.0"
AZURE_STORAGE_BLOB = "12.31.1"
PINS = [
    f"azure-storage-blob=={AZURE_STORAGE_BLOB}", "azure-core==1.41.0",
    # what they resolve to
    "certifi==2026.10.19.post1", "cffi==2.1.1", "charset-normalizer==3.5.3", "cryptography==51.0.1",
    "idna==3.21", "isodate==0.7.2", "pycparser==3.12", "requests==2.34.2", "typing_extensions==4.16.0",
    "urllib3==2.8.0",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "azurite"
VENV = HOME / "venv"
NPM_DIR = HOME / "npm"
MAIN_JS = NPM_DIR / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
CONSUMER, PROVIDER = "azure-storage-blob", "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (published in its README; not a secret of anyone's)
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SESSION_SECONDS = 600
DUMMY = f"SharedKey {ACCOUNT}:" + base64.b64encode(bytes(32)).decode()


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or int(m.group(1)) < 20:
        sys.exit("harness: Azurite needs node >= 20 on PATH (and npm to install it)")
    return node


def setup() -> str:
    """Azurite and the SDK's venv under HOME, installed once per pin set; the node to run Azurite with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = "\n".join([f"azurite@{AZURITE}", *PINS])
    if stamp.is_file() and stamp.read_text() == pins and MAIN_JS.is_file() and (VENV / "bin" / "python").is_file():
        return node
    print(f"setup: installing azurite@{AZURITE} and azure-storage-blob=={AZURE_STORAGE_BLOB} into "
          f"{HOME.relative_to(ROOT)}", flush=True)  # fmt: skip
    shutil.rmtree(HOME, ignore_errors=True)
    NPM_DIR.mkdir(parents=True)
    npm = shutil.which("npm") or "npm"
    _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NPM_DIR),
          f"azurite@{AZURITE}"], "installing azurite")  # fmt: skip
    if not MAIN_JS.is_file():
        sys.exit(f"harness: npm install left no {MAIN_JS}")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text(pins)
    return node


# --- Azurite -----------------------------------------------------------------------------------------


def start_azurite(stack: ExitStack, work: Path) -> str:
    """A fresh Azurite Blob service (a new, empty location) on a free port of 127.0.0.1; its URL (no account)
    once it answers (403 to an unsigned listing)."""
    work.mkdir(parents=True, exist_ok=True)
    location = work / "location"
    shutil.rmtree(location, ignore_errors=True)
    location.mkdir()
    port = free_port()
    cmd = [find_node(), str(MAIN_JS), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    cmd += ["--location", str(location), "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    log = work / "azurite.log"
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/{ACCOUNT}?comp=list", proc, log, ok=(200, 400, 403))
    return url


# --- the session -------------------------------------------------------------------------------------

SESSION = r'''
"""An application's integration session against one Blob account URL: python session.py ACCOUNT_URL OUT.json"""
import base64, json, random, sys, time, traceback

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, BlobBlock, ContentSettings

URL, OUT, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
CRED = {"account_name": "devstoreaccount1", "account_key": KEY}
svc = BlobServiceClient(URL, credential=CRED, retry_total=0, max_single_put_size=1024 * 1024,
                        max_block_size=512 * 1024, max_single_get_size=1024 * 1024, max_chunk_get_size=1024 * 1024)
results = []
kept = {}


def step(name, expect="ok"):
    def run(fn):
        t = time.monotonic()
        try:
            got = fn()
            outcome = "ok" if got is None or got is True else f"wrong: {str(got)[:300]}"
        except HttpResponseError as e:
            outcome = str(e.status_code)
            kept[name] = f"{e.status_code} {getattr(e, 'error_code', '')}: {str(e.message)[:300]}"
        except Exception as e:  # noqa: BLE001 - a step's failure, reported
            outcome = f"error: {type(e).__name__}: {str(e)[:300]}"
            kept[name] = traceback.format_exc()[-1500:]
        r = {"command": name, "exit": outcome, "expect": expect, "ok": outcome == expect,
             "seconds": round(time.monotonic() - t, 2)}
        if not r["ok"] and name in kept:
            r["output"] = kept[name]
        results.append(r)
        return fn
    return run


photos = svc.get_container_client("harness-photos")
logs = svc.get_container_client("harness-logs")
note = photos.get_blob_client("notes/note.txt")
data = photos.get_blob_client("data/data.json")
big = photos.get_blob_client("big/auto.bin")
blocks = photos.get_blob_client("big/manual.bin")
journal = logs.get_blob_client("journal.log")
copy = logs.get_blob_client("copies/note-copy.txt")
none = photos.get_blob_client("notes/none.txt")
UNCHANGED, CHANGED = MatchConditions.IfNotModified, MatchConditions.IfModified
NOTE = b"a note uploaded by the pact-recorder harness\n"
DATA = json.dumps({"id": 7, "tags": ["a", "b"], "ok": True}).encode() + b"\n"
BIG = random.Random(7).randbytes(5 * 512 * 1024)  # 2.5 MiB: five blocks of 512 KiB
PARTS = [bytes([65 + n]) * 300_000 for n in range(3)]
ids = [base64.b64encode(f"block-{n:04d}".encode()).decode() for n in range(3)]  # the same in every phase
state = {}

# the account
step("get_account_information")(lambda: svc.get_account_information()["sku_name"] is not None)
step("get_service_properties")(lambda: "hour_metrics" in svc.get_service_properties())
# containers
step("create_container photos")(lambda: svc.create_container("harness-photos") and None)
step("create_container logs with metadata")(
    lambda: svc.create_container("harness-logs", metadata={"team": "blue"}) and None)
step("create_container photos again", "409")(lambda: svc.create_container("harness-photos") and None)
step("list_containers by prefix")(
    lambda: sorted(c.name for c in svc.list_containers(name_starts_with="harness-"))
    == ["harness-logs", "harness-photos"] or "containers listed")
step("get_container_properties logs")(
    lambda: logs.get_container_properties().metadata == {"team": "blue"} or "metadata")
step("set_container_metadata photos")(
    lambda: photos.set_container_metadata({"purpose": "harness", "owner": "alice"}) and None)
step("get_container_properties photos")(
    lambda: photos.get_container_properties().metadata.get("owner") == "alice" or "metadata not set")
step("get_container_properties missing", "404")(
    lambda: svc.get_container_client("harness-none").get_container_properties() and None)
# uploads
step("upload_blob note")(
    lambda: note.upload_blob(NOTE, content_settings=ContentSettings(content_type="text/plain")) and None)
step("upload_blob data.json with metadata")(
    lambda: data.upload_blob(DATA, metadata={"kind": "json", "version": "1"},
                             content_settings=ContentSettings(content_type="application/json")) and None)
for n in "abc":
    step(f"upload_blob logs/2024/{n}.log")(
        lambda n=n: logs.upload_blob(f"2024/{n}.log", f"log {n}\n".encode() * 20) and None)
step("upload_blob 2.5 MiB by blocks")(lambda: big.upload_blob(BIG) and None)
for n in range(3):
    step(f"stage_block {n}")(lambda n=n: blocks.stage_block(ids[n], PARTS[n]) and None)
step("get_block_list uncommitted")(
    lambda: [b.id for b in blocks.get_block_list("uncommitted")[1]] == ids or "uncommitted blocks")
step("commit_block_list")(lambda: blocks.commit_block_list([BlobBlock(block_id=i) for i in ids]) and None)
step("get_block_list committed")(
    lambda: [b.id for b in blocks.get_block_list("committed")[0]] == ids or "committed blocks")
step("create_append_blob journal")(lambda: journal.create_append_blob() and None)
step("append_block twice")(lambda: (journal.append_block(b"one\n"), journal.append_block(b"two\n")) and None)
# reads
step("download_blob note")(lambda: note.download_blob().readall() == NOTE or "content")
step("download_blob 2.5 MiB by ranges")(lambda: big.download_blob().readall() == BIG or "content")
step("download_blob a range")(lambda: data.download_blob(offset=2, length=5).readall() == DATA[2:7] or "range")
step("download_blob manual")(lambda: blocks.download_blob().readall() == b"".join(PARTS) or "content")
step("download_blob journal")(lambda: journal.download_blob().readall() == b"one\ntwo\n" or "content")
step("get_blob_properties data.json")(
    lambda: (lambda p: p.metadata == {"kind": "json", "version": "1"}
             and p.content_settings.content_type == "application/json" or "properties")(data.get_blob_properties()))
step("set_blob_metadata note")(lambda: note.set_blob_metadata({"reviewed": "yes"}) and None)
step("set_http_headers note")(
    lambda: note.set_http_headers(
        ContentSettings(content_type="text/plain; charset=utf-8", cache_control="no-cache")) and None)
step("get_blob_properties note")(
    lambda: (lambda p: p.metadata == {"reviewed": "yes"} and p.content_settings.cache_control == "no-cache"
             or "properties")(note.get_blob_properties()))
step("exists note")(lambda: note.exists() is True or "absent")
step("exists missing")(lambda: none.exists() is False or "present")
# listings
step("list_blobs prefix logs 2024/")(
    lambda: [b.name for b in logs.list_blobs(name_starts_with="2024/")] == ["2024/a.log", "2024/b.log", "2024/c.log"]
    or "listing")
step("walk_blobs delimiter /")(
    lambda: sorted(b.name for b in photos.walk_blobs(delimiter="/")) == ["big/", "data/", "notes/"] or "prefixes")
step("list_blobs with metadata")(
    lambda: {b.name: b.metadata for b in photos.list_blobs(include=["metadata"])}["data/data.json"]["kind"] == "json"
    or "metadata")
# tags
step("set_blob_tags data.json")(lambda: data.set_blob_tags({"project": "harness", "stage": "raw"}) and None)
step("get_blob_tags data.json")(lambda: data.get_blob_tags() == {"project": "harness", "stage": "raw"} or "tags")
step("find_blobs_by_tags")(
    lambda: [b.name for b in svc.find_blobs_by_tags("\"project\"='harness'")] == ["data/data.json"] or "found")
# copy within the account
step("start_copy_from_url note -> logs")(
    lambda: copy.start_copy_from_url(note.url)["copy_status"] in ("success", "pending") or "copy status")
step("get_blob_properties copy")(lambda: copy.get_blob_properties().copy.status == "success" or "copy status")
step("download_blob copy")(lambda: copy.download_blob().readall() == NOTE or "content")
# snapshots
step("create_snapshot note")(lambda: state.update(snap=note.create_snapshot()["snapshot"]))
step("upload_blob note overwrite")(lambda: note.upload_blob(b"a newer note\n", overwrite=True) and None)
step("download_blob snapshot")(
    lambda: photos.get_blob_client("notes/note.txt", snapshot=state.get("snap")).download_blob().readall() == NOTE
    or "snapshot content")
step("list_blobs with snapshots")(
    lambda: len([b for b in photos.list_blobs(name_starts_with="notes/", include=["snapshots"])]) == 2 or "snapshots")
# leases
step("acquire_lease data.json")(lambda: state.update(lease=data.acquire_lease(lease_duration=15)))
step("set_blob_metadata without the lease", "412")(lambda: data.set_blob_metadata({"kind": "other"}) and None)
step("set_blob_metadata with the lease")(
    lambda: data.set_blob_metadata({"kind": "json", "version": "2"}, lease=state["lease"]) and None)
step("release_lease data.json")(lambda: state["lease"].release())
step("acquire_lease container logs")(lambda: state.update(clease=logs.acquire_lease(lease_duration=-1)))
step("release_lease container logs")(lambda: state["clease"].release())
# conditional requests
step("get_blob_properties etag")(lambda: state.update(etag=note.get_blob_properties().etag))
step("set_blob_metadata wrong etag", "412")(
    lambda: note.set_blob_metadata({"x": "1"}, etag='"0x8DEADBEEF000000"', match_condition=UNCHANGED) and None)
step("set_blob_metadata right etag")(
    lambda: note.set_blob_metadata({"x": "1"}, etag=state["etag"], match_condition=UNCHANGED) and None)
step("download_blob if-none-match", "304")(
    lambda: note.download_blob(etag=note.get_blob_properties().etag, match_condition=CHANGED).readall() and None)
step("upload_blob without overwrite", "409")(lambda: note.upload_blob(b"again\n") and None)
# refusals of missing things
step("get_blob_properties missing", "404")(lambda: none.get_blob_properties() and None)
step("download_blob missing", "404")(lambda: none.download_blob() and None)
# deletes
step("delete_blob note with snapshots")(lambda: note.delete_blob(delete_snapshots="include"))
step("get_blob_properties deleted", "404")(lambda: note.get_blob_properties() and None)
step("delete_blobs batch logs a, b")(
    lambda: all(r.status_code == 202 for r in logs.delete_blobs("2024/a.log", "2024/b.log")) or "batch statuses")
step("list_blobs after deletes")(
    lambda: sorted(b.name for b in logs.list_blobs()) == ["2024/c.log", "copies/note-copy.txt", "journal.log"]
    or "listing")
step("delete_container photos")(lambda: photos.delete_container())
step("delete_container logs")(lambda: logs.delete_container())
step("delete_container missing", "404")(lambda: svc.delete_container("harness-none"))
step("list_containers after deletes")(
    lambda: [c.name for c in svc.list_containers(name_starts_with="harness-")] == [] or "containers left")

json.dump(results, open(OUT, "w"), indent=1)
'''


def run_session(account_url: str, work: Path) -> dict:
    """The session above against `account_url`; the counts in the shape the other harnesses give."""
    work.mkdir(parents=True, exist_ok=True)
    script, out = work / "session.py", work / "session.json"
    script.write_text(SESSION)
    with open(work / "session.log", "wb") as log:
        done = subprocess.run([str(VENV / "bin" / "python"), str(script), account_url, str(out), KEY],
                              cwd=work, stdout=log, stderr=subprocess.STDOUT, timeout=SESSION_SECONDS,
                              start_new_session=True)  # fmt: skip
    if not out.is_file():
        raise RuntimeError(f"the session wrote no results (exit {done.returncode}):\n{tail(work / 'session.log')}")
    results = json.loads(out.read_text())
    passed = sum(r["ok"] for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [f"{r['command']} ({r['exit']}, expected {r['expect']})" for r in results if not r["ok"]],
        "commands": results,
    }


# --- secrets on disk ---------------------------------------------------------------------------------


def secrets_on_disk(folder: Path) -> dict:
    """What the kept files (the pact, the states file) hold of the account key and of Shared Key values: the
    files with the key, with `SharedKey` at all, and per file how many `SharedKey` values are redacted and how
    many signatures are there in clear (and which requests they sign)."""
    found: dict = {"key": [], "SharedKey": [], "redacted": {}, "signatures": {}}
    for path in sorted(folder.glob(f"{CONSUMER}-{PROVIDER}*")):
        text = path.read_text(errors="replace")
        if KEY in text or KEY.rstrip("=") in text or base64.b64decode(KEY).hex() in text:
            found["key"].append(path.name)
        if "SharedKey" in text:
            found["SharedKey"].append(path.name)
        found["redacted"][path.name] = len(re.findall(r"SharedKey <redacted>", text))
        clear = re.findall(rf"SharedKey {ACCOUNT}:[A-Za-z0-9+/]{{43}}=", text)
        found["signatures"][path.name] = len(clear)
        signed = re.findall(rf"((?:GET|PUT|POST|DELETE|HEAD) /{ACCOUNT}/\S*) HTTP/1.1", text)
        if clear and signed:
            found.setdefault("signed_requests", sorted(set(signed)))
    return found


# --- a signing relay (the diagnostic) ----------------------------------------------------------------


class Signer(http.server.BaseHTTPRequestHandler):
    """Forwards every request to `target` with a Shared Key signature of its own, computed with the dev key as
    Azurite checks it; a stand-in for the signing that verify has for SigV4 and not for Shared Key."""

    target = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in ("host", "connection")]
        if any(k.lower() == "authorization" and v.startswith("SharedKey") for k, v in headers):
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            headers.append(("Authorization", shared_key(self.command, self.path, headers)))
        conn = http.client.HTTPConnection(self.target, timeout=60)
        deadline = time.monotonic() + common.READY_SECONDS
        while True:  # a provider that --reset-command is restarting: wait for it
            try:
                conn.connect()
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # poll interval, not synchronisation
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", self.target)
            for k, v in headers:
                conn.putheader(k, v)
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward


def shared_key(method: str, target: str, headers: list[tuple[str, str]]) -> str:
    """`SharedKey devstoreaccount1:<HMAC>` of a request, its string to sign as Azurite builds it."""
    low: dict[str, str] = {}
    for k, v in headers:
        low[k.lower()] = f"{low[k.lower()]},{v}" if k.lower() in low else v
    fields = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
              "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]  # fmt: skip
    values = ["" if f == "content-length" and low.get(f) == "0" else low.get(f, "") for f in fields]
    canon = "".join(f"{k.strip()}:{v.lstrip()}\n" for k, v in sorted(low.items()) if k.startswith("x-ms-"))
    url = urllib.parse.urlsplit(target)
    resource = f"/{ACCOUNT}{url.path or '/'}"
    query: dict[str, str] = {}
    for part in url.query.split("&"):  # as Azurite reads them: one `=` each, the value decoded, the name not
        if part.find("=") > 0 and part.count("=") == 1:
            k, v = part.split("=")
            query[k.lower()] = urllib.parse.unquote(v.replace("+", "%20"))
    resource += "".join(f"\n{k}:{query[k]}" for k in sorted(query))
    text = "\n".join([method.upper(), *values]) + "\n" + canon + resource
    mac = hmac.new(base64.b64decode(KEY), text.encode(), hashlib.sha256).digest()
    return f"SharedKey {ACCOUNT}:{base64.b64encode(mac).decode()}"


def start_signer(stack: ExitStack, target: str) -> str:
    """The signing relay in front of `target` (an http://host:port URL), on a free port; its URL."""
    handler = type("BoundSigner", (Signer,), {"target": target.removeprefix("http://")})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}"


# --- the verifier ------------------------------------------------------------------------------------


def _keyed(name: str) -> bool:
    """Does verify ask for the account's key itself (not for one signature's value)?"""
    return name.startswith("storage_account_key")


def asked(message: str) -> list[str]:
    """The secret names a refusal (exit 2) names."""
    return re.findall(r"^\s+([\w.:-]+): needed by", message, re.M)


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_azurite(stack, work / "direct" / "azurite")
            direct_run = run_session(f"{url}/{ACCOUNT}", work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        url = start_azurite(stack, out / "azurite")
        recorder, rec_url, log = common.start_recorder(stack, CONSUMER, PROVIDER, url, out)
        recorded = run_session(f"{rec_url}/{ACCOUNT}", out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    on_disk = secrets_on_disk(out)
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        url = start_azurite(stack, work / "verify" / "azurite")
        report, outcome = common.verify_outcome(stack, pact, url, work / "verify", args)
        runs.append(outcome | {"asked": len(asked(outcome["message"])) if outcome["exit"] == 2 else 0})
    names = asked(outcome["message"]) if report is None else []
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh Azurite
        # (the account key, where verify asks for it, is what an operator gives: Azurite's published one)
        extra = verify_args or [a for n in names for a in ("--secret", f"{n}={KEY if _keyed(n) else DUMMY}")]
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            url = start_azurite(stack, work / "verify2" / "azurite")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, url, work / "verify2", args)
            runs.append(outcome)
    empty = None
    if names and not verify_args:  # the diagnostic: every asked secret given as nothing
        with timed(seconds, "verify-empty"), ExitStack() as stack:
            url = start_azurite(stack, work / "verify-empty" / "azurite")
            extra = ["--states-from-recording", *(a for n in names for a in ("--secret", f"{n}="))]
            empty, outcome = common.verify_outcome(stack, pact, url, work / "verify-empty", extra)
            runs.append(outcome | {"args": ["--states-from-recording", f"--secret NAME= (x{len(names)})"]})
    signed = None
    if names and not verify_args:  # the diagnostic: verify2's run through a relay that signs every request
        with timed(seconds, "verify-signed"), ExitStack() as stack:
            relay = start_signer(stack, start_azurite(stack, work / "verify-signed" / "azurite"))
            extra = ["--states-from-recording", *(a for n in names for a in ("--secret", f"{n}={DUMMY}"))]
            signed, outcome = common.verify_outcome(stack, pact, relay, work / "verify-signed", extra)
            runs.append(
                outcome
                | {
                    "args": [
                        "--states-from-recording",
                        f"--secret NAME=<dummy> (x{len(names)})",
                        "(through a relay that signs each request)",
                    ]
                }
            )
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:6], f"... ({len(lines) - 6} more lines)"] if len(lines) > 7 else lines
        shown = " ".join(run["args"])
        shown = shown if len(shown) < 300 else shown[:300] + f" ... ({len(run['args'])} args)"
        print(f"verify run {n}: exit {run['exit']}  ({shown})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps had the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print(
        f"on disk: the account key in {on_disk['key'] or 'no file'}; `SharedKey <redacted>` "
        f"{on_disk['redacted']}; signatures in clear {on_disk['signatures']}"
        + (f" (signing {', '.join(on_disk.get('signed_requests', []))})" if on_disk.get("signed_requests") else "")
    )
    if empty:
        print(f"empty-secret diagnostic: {common.verify_figures(empty)['green']} / {len(empty['interactions'])} green")
        for g in common.group_failures(empty):
            print(f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}")
    if signed:
        print(f"signed diagnostic: {common.verify_figures(signed)['green']} / {len(signed['interactions'])} green")
        for g in common.group_failures(signed):
            print(f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "azurite": AZURITE,
        "azure_storage_blob": AZURE_STORAGE_BLOB,
        "pins": PINS,
        "verify_args": args if len(args) < 12 else [*args[:5], f"... ({len(args)} args)"],
        "verify_runs": runs,
        "secrets_asked": len(names),
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_on_disk": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
        "verify_empty": common.verify_figures(empty) if empty else None,
        "failures_empty": common.group_failures(empty) if empty else None,
        "verify_signed": common.verify_figures(signed) if signed else None,
        "failures_signed": common.group_failures(signed) if signed else None,
    }


if __name__ == "__main__":
    sys.exit(common.main("azurite", __doc__, phases, sys.argv[1:], setup))
