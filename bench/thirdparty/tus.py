"""Record a tus server (the resumable-upload protocol: @tus/server with @tus/file-store, run by node) while the
real Python client, tuspy, runs an application's upload session against it, then verify the pact against a
fresh, empty server.

    .venv/bin/python bench/thirdparty/tus.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the bearer token the server
checks (`Bearer TOKEN` where the name is a header's, else TOKEN).

tuspy's own tests mock every exchange (`responses`, `aioresponses`, against a made-up tusd URL): none talks to
a server. So the consumer is an application's session written with the real client library, as its users
write theirs.

What it does, each phase timed:
  setup    under .venv/thirdparty/tus/: @tus/server and @tus/file-store from npm (`npm install --prefix npm`,
           run by the machine's node >= 20.19) and a venv with tuspy (the consumer: requests and aiohttp
           underneath), every package pinned, installed once per pin set.
  direct   a fresh server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer tuspy --provider tus-server` in front of
           it, the same session with the recorder's URL plus /files/ as the tus endpoint; SIGTERM makes it
           write OUT/tuspy-tus-server.json.
  verify   a third fresh server (empty: no upload), `pact-recorder verify --states-from-recording`; then,
           refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many had
the same outcome both ways, whether the bearer token reached any file the recorder wrote, exchanges,
interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each server is a node script of this harness's (SERVER, written beside the npm install): `new Server({path:
"/files", datastore: new FileStore({directory}), maxSize: 8 MiB, onIncomingRequest, onUploadCreate})`
listening on 127.0.0.1:PORT, a new, empty upload directory each phase. As an application serves it: every
request but OPTIONS must carry `Authorization: Bearer TOKEN` (onIncomingRequest throws 401 otherwise; the
token from the environment, on no command line), and an upload must name its file (`filename` in its
Upload-Metadata, else onUploadCreate throws 400). The server hands out upload ids as 32 random hex digits
in an absolute `Location` built from the request's Host (so through the recorder they point at the
recorder); it serves a finished upload's bytes on GET; extensions creation, creation-with-upload,
creation-defer-length, termination, expiration (no expiry set).

The protocol (tus 1.0.0): `OPTIONS /files/` (Tus-Version, Tus-Extension, Tus-Max-Size); `POST /files/`
with `Upload-Length` (or `Upload-Defer-Length: 1`) and `Upload-Metadata` (`key base64,key base64`), answered
201 with the upload's `Location`; `PATCH /files/{id}` with `Upload-Offset` and a body of
`application/offset+octet-stream`, answered 204 with the new `Upload-Offset` (409 where the offset is not
the server's); `HEAD /files/{id}` (`Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Cache-Control:
no-store`); `DELETE /files/{id}` (termination, 204); `Tus-Resumable: 1.0.0` on every request but OPTIONS
(412 without it).

The session (SESSION, each step one "test", passed when it has its expected outcome: "ok", or the status of
the refusal it provokes on purpose), through tuspy's `TusClient(URL, headers={"Authorization": "Bearer
..."})` and its sync `Uploader` (requests) and `AsyncUploader` (aiohttp), `retries=0`; what tuspy has no
call for (server discovery, download, termination) by `requests` with the same headers, as its users do:
the server's capabilities (OPTIONS); uploads of a 1 KiB text file with metadata (filename, filetype), of an
empty file (a POST alone), of a 300 KiB image in 64 KiB chunks, of a file named in UTF-8, and by the async
uploader in 64 KiB chunks; each checked by HEAD (offset, length, metadata, `Cache-Control`) and by
downloading it back; an interrupted upload (1 MiB in 128 KiB chunks, stopped at 256 KiB, its URL kept in
tuspy's FileStorage by the file's fingerprint), resumed by a new uploader that finds the stored URL and asks
the server the offset (HEAD), then finished and downloaded; terminations of an unfinished and of a finished
upload, and their HEAD, GET, DELETE and resume refused (404); and the refusals: a resume of an id none handed
out (404), a chunk sent at a wrong offset (409, the offset unchanged after it), a file over the server's
maximum (413), an upload without a filename (400, the application's rule), an upload without the token and
a HEAD with a wrong one (401), a HEAD without Tus-Resumable (412), a chunk with the wrong Content-Type (400),
a chunk past the declared length (413). (tuspy 1.1.0 has no deferred length, no creation-with-upload, no
concatenation: the session does none.) Every process started is stopped on the way out, on failure and on
Ctrl-C or SIGTERM too.

A node 20 quirk of the provider: after some downloads (GET of a finished upload, its bytes sent in full)
undici throws "ReadableStream is already closed" outside any request, which ends a bare node process (in
about one server in three here, in any phase: directly, through the recorder, under verify); the server
script logs it and serves on, as a process manager would restart it, and no step or interaction is the worse
for it.

First contact (@tus/server 2.4.5 and @tus/file-store 2.1.1 on node 20.20, tuspy 1.1.0; four runs alike): 32
steps, 32 / 32 with their expected outcome both directly and through the recorder (the same outcome each); 59
exchanges, 59 recorded, 17 interactions (12 with a provider state: `file exists` set up by the recorded
`POST /files/` and its `PATCH`es, `file does not exist`). verify with `--states-from-recording` alone: exit 2,
one secret asked for (`authorization: needed by 20 request(s), e.g. 'POST /files/ returns 201'`); with
`--secret authorization=Bearer TOKEN` (TOKEN alone does as well; a wrong value gives 3 / 17): **17 / 17
green**, no failure. On disk: not the token, but its first 12 of 28 characters, `tus-harness-`, taken for the
token's kind: `Bearer tus-harness-<redacted>` in 14 request headers of the pact and 6 setup steps of the
states file, and 14 request matchers `^Bearer tus-harness-.+$`; the wrong token is `Bearer <redacted>`. What
the 17 do not say: the 59 exchanges fold into one interaction per method, path and status, so the resume (a
HEAD answering 256 KiB of 1 MiB, then a PATCH at that offset) is verified as its first samples were (a HEAD of
a complete 1 KiB upload, a PATCH at offset 0), with `Upload-Offset` and `Upload-Length` matched as any
integers. One run: 16 to 25 s (direct 3-4 s, record 7-9 s, verify and verify2 2-4 s each); the setup, once, ~40 s.
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

TUS_SERVER, TUS_FILE_STORE = "2.4.5", "2.1.1"
TUSPY = "1.1.0"
PINS = [
    f"tuspy=={TUSPY}",
    # what it resolves to
    "aiohappyeyeballs==2.7.1", "aiohttp==3.14.5", "aiosignal==1.4.0", "attrs==26.1.0",
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "frozenlist==1.8.0", "idna==3.21",
    "multidict==7.2.1", "propcache==0.5.4", "requests==2.34.2", "tinydb==4.9.0", "typing_extensions==4.16.0",
    "urllib3==2.8.0", "yarl==1.25.1",
]  # fmt: skip
NPM_PINS = [f"@tus/server@{TUS_SERVER}", f"@tus/file-store@{TUS_FILE_STORE}"]
HOME = ROOT / ".venv" / "thirdparty" / "tus"
VENV = HOME / "venv"
NPM_DIR = HOME / "npm"
SERVER_JS = NPM_DIR / "tus-harness-server.mjs"
CONSUMER, PROVIDER = "tuspy", "tus-server"
TOKEN = "tus-harness-9d41c7e2b8a05f36"  # the bearer token the server checks: must reach no file the recorder writes
MAX_SIZE = 8 * 1024 * 1024
SESSION_SECONDS = 300

SERVER = r"""// A tus server as an application serves one: node tus-harness-server.mjs HOST PORT DIR (token: TUS_TOKEN)
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const [host, port, directory] = process.argv.slice(2);
const token = process.env.TUS_TOKEN;
const server = new Server({
  path: "/files",
  datastore: new FileStore({ directory }),
  maxSize: Number(process.env.TUS_MAX_SIZE),
  async onIncomingRequest(req) {
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      throw { status_code: 401, body: "Unauthorized\n" };
    }
  },
  async onUploadCreate(req, upload) {
    if (!upload.metadata || !upload.metadata.filename) {
      throw { status_code: 400, body: "filename metadata required\n" };
    }
    return {};
  },
});
server.listen({ host, port: Number(port) }, () => console.log(`tus server on http://${host}:${port}/files`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
// on node 20, a download's web stream may be closed twice after its answer went out (undici's
// "ReadableStream is already closed"): logged, and the server serves on, as a process manager would have it
process.on("uncaughtException", (e) => console.error(`uncaught after an answer: ${e.code || ""} ${e.message}`));
"""


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)\.(\d+)", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or (int(m.group(1)), int(m.group(2))) < (20, 19):
        sys.exit("harness: @tus/server needs node >= 20.19 on PATH (and npm to install it)")
    return node


def setup() -> str:
    """@tus/server, @tus/file-store and tuspy's venv under HOME, installed once per pin set; the node to run
    the server with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = "\n".join([*NPM_PINS, *PINS])
    installed = (NPM_DIR / "node_modules" / "@tus" / "server").is_dir() and (VENV / "bin" / "python").is_file()
    if not (stamp.is_file() and stamp.read_text() == pins and installed):
        print(f"setup: installing {', '.join(NPM_PINS)} and tuspy=={TUSPY} into {HOME.relative_to(ROOT)}",
              flush=True)  # fmt: skip
        shutil.rmtree(HOME, ignore_errors=True)
        NPM_DIR.mkdir(parents=True)
        npm = shutil.which("npm") or "npm"
        _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NPM_DIR), *NPM_PINS],
             "installing @tus/server")  # fmt: skip
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(VENV / "bin" / "python", "install", *PINS)
        stamp.write_text(pins)
    if not SERVER_JS.is_file() or SERVER_JS.read_text() != SERVER:
        SERVER_JS.write_text(SERVER)  # beside node_modules, so that its imports resolve
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment less any proxy of the user's (the session talks to 127.0.0.1 only)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("PYTHON")}
    return env | {"NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh tus server (a new, empty upload directory) on a free port of 127.0.0.1; its base URL once it
    answers (401 to an unauthenticated GET of an upload)."""
    work.mkdir(parents=True, exist_ok=True)
    uploads = work / "uploads"
    shutil.rmtree(uploads, ignore_errors=True)
    uploads.mkdir()
    port = free_port()
    env = clean_env() | {"TUS_TOKEN": TOKEN, "TUS_MAX_SIZE": str(MAX_SIZE)}
    log = work / "server.log"
    proc = start(stack, [find_node(), str(SERVER_JS), "127.0.0.1", str(port), str(uploads)], log, cwd=work, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/files/readiness", proc, log, ok=(401, 404))
    return url


# --- the session -------------------------------------------------------------------------------------

SESSION = r'''
"""An application's upload session against one tus endpoint: python session.py ENDPOINT OUT.json (token: TUS_TOKEN)"""
import asyncio, base64, io, json, os, random, sys, time, traceback

import requests
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.storage import filestorage

ENDPOINT, OUT = sys.argv[1], sys.argv[2]
TOKEN = os.environ["TUS_TOKEN"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TUS = {"Tus-Resumable": "1.0.0"}
rng = random.Random(20240611)
results = []


def make(name, size):
    data = rng.randbytes(size)
    with open(name, "wb") as f:
        f.write(data)
    return name, data


def step(name, expect="ok"):
    def run(fn):
        t = time.monotonic()
        detail = None
        try:
            got = fn()
            outcome = "ok" if got is None or got is True else f"wrong: {str(got)[:300]}"
        except (TusCommunicationError, TusUploadFailed) as e:
            outcome = str(e.status_code) if e.status_code else f"error: {type(e).__name__}: {str(e)[:300]}"
            detail = f"{type(e).__name__} {e.status_code}: {e.response_content!r}"[:400]
        except requests.HTTPError as e:
            outcome = str(e.response.status_code)
            detail = e.response.text[:300]
        except Exception as e:  # noqa: BLE001 - a step's failure, reported
            outcome = f"error: {type(e).__name__}: {str(e)[:300]}"
            detail = traceback.format_exc()[-1500:]
        r = {"command": name, "exit": outcome, "expect": expect, "ok": outcome == expect,
             "seconds": round(time.monotonic() - t, 2)}
        if not r["ok"] and detail:
            r["output"] = detail
        results.append(r)
        print(("ok   " if r["ok"] else "FAIL ") + f"{name} -> {outcome}", flush=True)
        return fn
    return run


def checked(resp):
    resp.raise_for_status()
    return resp


def head(url, headers=None):
    return checked(requests.head(url, headers=headers if headers is not None else {**TUS, **AUTH}))


def download(url, data):
    got = checked(requests.get(url, headers=AUTH)).content
    return got == data or f"downloaded {len(got)} bytes, differ from the {len(data)} uploaded"


def terminate(url):
    resp = checked(requests.delete(url, headers={**TUS, **AUTH}))
    return resp.status_code == 204 or f"status {resp.status_code}"


def b64(text):
    return base64.b64encode(text.encode()).decode()


c = tus.TusClient(ENDPOINT, headers=dict(AUTH))
kept = {}
note, note_data = make("note.txt", 1024)
empty, empty_data = make("empty.txt", 0)
photo, photo_data = make("photo.png", 300 * 1024)
big, big_data = make("dataset.bin", 1024 * 1024)
report, report_data = make("report.pdf", 20 * 1024)
draft, draft_data = make("draft.txt", 200 * 1024)
done_file, done_data = make("done.txt", 2048)
async_data = rng.randbytes(200 * 1024)


@step("options: the server's capabilities")
def _():
    r = checked(requests.options(ENDPOINT))
    ext = r.headers.get("Tus-Extension", "").split(",")
    return (r.headers.get("Tus-Version") == "1.0.0" and {"creation", "termination", "creation-defer-length"} <= set(ext)
            and r.headers.get("Tus-Max-Size") == str(8 * 1024 * 1024)) or dict(r.headers)


@step("upload note.txt (1 KiB, metadata)")
def _():
    u = c.uploader(note, metadata={"filename": "note.txt", "filetype": "text/plain"}, retries=0)
    u.upload()
    kept["note"] = u.url
    return u.offset == len(note_data) or f"offset {u.offset}"


@step("head note.txt: offset, length, metadata")
def _():
    h = head(kept["note"]).headers
    meta = dict(p.split(" ") for p in h["Upload-Metadata"].split(","))
    return (h["Upload-Offset"] == h["Upload-Length"] == "1024" and meta.get("filename") == b64("note.txt")
            and h.get("Cache-Control") == "no-store") or dict(h)


@step("get_offset of note.txt")
def _():
    return c.uploader(note, url=kept["note"]).offset == 1024


@step("download note.txt")
def _():
    return download(kept["note"], note_data)


@step("upload empty.txt (0 bytes: a POST alone)")
def _():
    u = c.uploader(empty, metadata={"filename": "empty.txt", "filetype": "text/plain"})
    u.upload()
    kept["empty"] = u.url
    h = head(u.url).headers
    return (h["Upload-Offset"] == h["Upload-Length"] == "0") or dict(h)


@step("upload photo.png (300 KiB in 64 KiB chunks)")
def _():
    u = c.uploader(photo, chunk_size=64 * 1024, metadata={"filename": "photo.png", "filetype": "image/png"})
    u.upload()
    kept["photo"] = u.url
    return u.offset == len(photo_data) or f"offset {u.offset}"


@step("download photo.png")
def _():
    r = checked(requests.get(kept["photo"], headers=AUTH))
    return (r.content == photo_data and r.headers["Content-Type"] == "image/png") or dict(r.headers)


@step("upload a file named in UTF-8")
def _():
    u = c.uploader(report, metadata={"filename": "résumé 2024.pdf", "filetype": "application/pdf"})
    u.upload()
    kept["report"] = u.url
    meta = dict(p.split(" ") for p in head(u.url).headers["Upload-Metadata"].split(","))
    return base64.b64decode(meta["filename"]).decode() == "résumé 2024.pdf" or meta


@step("async upload (aiohttp, 200 KiB in 64 KiB chunks)")
def _():
    u = c.async_uploader(file_stream=io.BytesIO(async_data), chunk_size=64 * 1024,
                         metadata={"filename": "async.bin"})
    asyncio.run(u.upload())
    kept["async"] = u.url
    return download(u.url, async_data)


storage = filestorage.FileStorage("tus-urls.json")


@step("interrupted upload: dataset.bin (1 MiB) stops at 256 KiB")
def _():
    u = c.uploader(big, chunk_size=128 * 1024, store_url=True, url_storage=storage,
                   metadata={"filename": "dataset.bin", "filetype": "application/octet-stream"})
    u.upload(stop_at=256 * 1024)
    kept["big"] = u.url
    return u.offset == 256 * 1024 or f"offset {u.offset}"


@step("head the interrupted upload: offset 256 KiB of 1 MiB")
def _():
    h = head(kept["big"]).headers
    return (h["Upload-Offset"] == str(256 * 1024) and h["Upload-Length"] == str(1024 * 1024)) or dict(h)


@step("resume: a new uploader finds the stored URL and the server's offset")
def _():
    u = c.uploader(big, chunk_size=128 * 1024, store_url=True, url_storage=storage)
    kept["resumed"] = u
    return (u.url == kept["big"] and u.offset == 256 * 1024) or f"{u.url} at {u.offset}"


@step("resume: upload the rest")
def _():
    u = kept["resumed"]
    u.upload()
    return u.offset == len(big_data) or f"offset {u.offset}"


@step("download the resumed upload")
def _():
    return download(kept["big"], big_data)


@step("terminate an unfinished upload (draft.txt at 64 KiB of 200 KiB)")
def _():
    u = c.uploader(draft, chunk_size=64 * 1024, metadata={"filename": "draft.txt"})
    u.upload(stop_at=64 * 1024)
    kept["draft"] = u.url
    return terminate(u.url)


@step("head the terminated upload", "404")
def _():
    head(kept["draft"])


@step("resume the terminated upload", "404")
def _():
    c.uploader(draft, url=kept["draft"])


@step("terminate a finished upload (done.txt)")
def _():
    u = c.uploader(done_file, metadata={"filename": "done.txt"})
    u.upload()
    kept["done"] = u.url
    return terminate(u.url)


@step("download the terminated upload", "404")
def _():
    checked(requests.get(kept["done"], headers=AUTH))


@step("terminate it again", "404")
def _():
    terminate(kept["done"])


# the refusals
@step("resume an upload id none handed out", "404")
def _():
    c.uploader(note, url=ENDPOINT.rstrip("/") + "/0123456789abcdef0123456789abcdef")


@step("a chunk at a wrong offset", "409")
def _():
    u = c.uploader(draft, chunk_size=64 * 1024, metadata={"filename": "draft-2.txt"})
    u.upload(stop_at=64 * 1024)
    kept["draft2"] = u.url
    u.offset = 0  # the server has 64 KiB
    u.upload_chunk()


@step("head after the conflict: the offset unchanged")
def _():
    return head(kept["draft2"]).headers["Upload-Offset"] == str(64 * 1024)


@step("upload over the server's maximum (9 MiB)", "413")
def _():
    c.uploader(file_stream=io.BytesIO(bytes(9 * 1024 * 1024)), metadata={"filename": "huge.bin"}).upload()


@step("upload without a filename", "400")
def _():
    c.uploader(note, metadata={"filetype": "text/plain"}).upload()


@step("upload without the token", "401")
def _():
    tus.TusClient(ENDPOINT).uploader(note, metadata={"filename": "note.txt"}).upload()


@step("head with a wrong token", "401")
def _():
    head(kept["note"], {**TUS, "Authorization": "Bearer not-the-token"})


@step("head without Tus-Resumable", "412")
def _():
    head(kept["note"], dict(AUTH))


@step("a chunk with the wrong Content-Type", "400")
def _():
    checked(requests.patch(kept["draft2"], data=b"x" * 16,
                           headers={**TUS, **AUTH, "Upload-Offset": str(64 * 1024), "Content-Type": "text/plain"}))


@step("a chunk past the declared length", "413")
def _():
    checked(requests.patch(kept["note"], data=b"x" * 16, headers={
        **TUS, **AUTH, "Upload-Offset": "1024", "Content-Type": "application/offset+octet-stream"}))


@step("head note.txt after the refusals: still complete")
def _():
    h = head(kept["note"]).headers
    return h["Upload-Offset"] == h["Upload-Length"] == "1024" or dict(h)


json.dump(results, open(OUT, "w"), indent=1)
'''


def run_session(endpoint: str, work: Path) -> dict:
    """The session above against the tus endpoint `endpoint`; the counts in the shape the other harnesses give."""
    work.mkdir(parents=True, exist_ok=True)
    script, out = work / "session.py", work / "session.json"
    script.write_text(SESSION)
    out.unlink(missing_ok=True)
    (work / "tus-urls.json").unlink(missing_ok=True)
    env = clean_env() | {"TUS_TOKEN": TOKEN}
    with open(work / "session.log", "wb") as log:
        try:
            done = subprocess.run([str(VENV / "bin" / "python"), str(script), endpoint, str(out)], cwd=work, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, timeout=SESSION_SECONDS,
                                  start_new_session=True)  # fmt: skip
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if not out.is_file():
        raise RuntimeError(f"the session wrote no results (exit {code}):\n{tail(work / 'session.log')}")
    results = json.loads(out.read_text())
    passed = sum(r["ok"] for r in results)
    for r in results:
        print(f"  {'ok  ' if r['ok'] else 'FAIL'} {r['command']} -> {r['exit']}", flush=True)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [f"{r['command']} ({r['exit']}, expected {r['expect']})" for r in results if not r["ok"]],
        "commands": results,
    }


# --- secrets on disk and the verifier ----------------------------------------------------------------


def secrets_on_disk(out: Path) -> tuple[list[str], dict[str, int]]:
    """Every file the recorder wrote (the pact, its states, kept bodies) that holds the token; and, per file,
    the longest start of the token (4 characters or more) found there, with how often it is there."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    whole, starts = set(), {}
    for p in files:
        text = p.read_text(errors="replace")
        if TOKEN in text:
            whole.add(str(p.relative_to(out)))
        n = next((n for n in range(len(TOKEN) - 1, 3, -1) if TOKEN[:n] in text), 0)
        if n:
            starts[f"{p.relative_to(out)}: {TOKEN[:n]!r}"] = text.count(TOKEN[:n])
    return sorted(whole), starts


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the bearer token (with its scheme where the
    name is a header's)."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        args += ["--secret", f"{name}={'Bearer ' + TOKEN if 'authorization' in name.lower() else TOKEN}"]
    return args


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server + "/files/", work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url + "/files/", out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    leaked, starts = secrets_on_disk(out)
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
        lines = run["message"].replace(TOKEN, "****").splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args']).replace(TOKEN, '****')})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps had the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print(f"the bearer token in clear in: {', '.join(leaked) or 'none of the files the recorder wrote'}")
    if starts:
        print(f"  a start of it ({len(TOKEN)} characters) in clear: "
              + "; ".join(f"{where} x{n}" for where, n in starts.items()))  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    hide = {"args": lambda a: [x.replace(TOKEN, "****") for x in a], "message": lambda m: m.replace(TOKEN, "****")}
    return {
        "tus_server": TUS_SERVER,
        "tus_file_store": TUS_FILE_STORE,
        "tuspy": TUSPY,
        "pins": PINS,
        "consumer": "tuspy (sync and async uploaders) and requests, an application's upload session",
        "verify_args": hide["args"](args),
        "verify_runs": [{k: hide[k](v) if k in hide else v for k, v in run.items()} for run in runs],
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secret_in_clear": leaked,
        "secret_start_in_clear": starts,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("tus", __doc__, phases, sys.argv[1:], setup))
