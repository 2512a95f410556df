"""Record Etherpad Lite's HTTP API while a real Python client of it, pyetherpadlite (`py_etherpad`), runs an
integrating application's session against it, then verify the pact against a fresh, empty Etherpad.

    .venv/bin/python bench/thirdparty/etherpad.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the API key where the name says
so (the provider team's: it is the server's APIKEY.txt), else a placeholder.

What it does, each phase timed:
  setup    under .venv/thirdparty/etherpad/: ep_etherpad-lite (EP_PIN, Etherpad's own server package) from npm
           (`npm install --prefix npm`, run by the machine's node >= 12.13), laid out as an Etherpad checkout
           wants it (the package as `npm/src`, `npm/node_modules/ep_etherpad-lite` a link to it: Etherpad finds
           its base dir as the parent of `src`); and a venv with pyetherpadlite (CLIENT_PIN) from PyPI. Both
           once per pin set.
  direct   a fresh Etherpad and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Etherpad, `pact-recorder record --consumer pyetherpadlite --provider etherpad` in front
           of it, the same session with the recorder's URL as the client's base; SIGTERM makes it write
           OUT/pyetherpadlite-etherpad.json.
  verify   a third fresh Etherpad (a new dirty DB: no group, author, pad or session), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, whether the API key is in any file the harness keeps, exchanges, interactions,
verified green / total) and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and
--json FILE).

Each Etherpad: `node src/node/server.js --settings S --apikey K --sessionkey X` (from the npm dir, so the
package's own `npm` lists its plugins: none but itself) with a settings file, an APIKEY.txt (a new random key
each run, written by the harness: the server only reads it) and a dirty DB, all in the phase's own work dir;
127.0.0.1 and a free port, minify off. Its update check fails at once (no network) and is only logged. Ready
once `GET /api/` answers 200 (`{"currentVersion": "1.2.15"}`).

The API (1.2.15 in Etherpad 1.8.14): `/api/1.2.15/FUNCTION` for ~55 functions, GET or POST alike, parameters in
the query or a form body, the API key as the parameter `apikey`; every answer HTTP 200 JSON `{"code", "message",
"data"}`, with code 0 for success and 1 for a refused call ("padID does not exist", "padName does already
exist"), 4 for a wrong key (all still HTTP 200), 3 "no such function" (HTTP 404). Ids handed out by the server
are typed by prefix: groups `g.` (16 chars), authors `a.`, sessions `s.`, read-only pads `r.`; a group pad's id
is `GROUPID$NAME`, so the client builds it from a group id the server handed out and a name it chose.

The client: pyetherpadlite 1.2 (Alienmaster/PyEtherpadLite, the maintained fork of devjones's; `py_etherpad`),
one method per API function. It sends every call as a POST (urllib with a body) whose form body carries the
parameters and `apikey`, except a text or HTML over 8 KB, which it posts with the key in a header `apikey`
(which Etherpad 1.8.14 does not read: refused as a wrong key). Its default API version, 1.3.0, is Etherpad 2's;
the session gives 1.2.15, as a user of this server must. Its repository's tests are not in its sdist (nothing
else of it is downloaded), so the session is the harness's own: an application that keeps its users' documents
in Etherpad.

The session (DRIVER, run by the client's venv; each step a "test", passed when the call returns the expected
shape or raises the refusal provoked on purpose; ~70 steps): the key checked (and a wrong one refused); the
empty server listed; groups made by mapper (twice: the same id) and plainly, listed; authors made and by mapper,
their names; group pads made with and without text, the same one again (refused), listed; a session for an
author in a group (valid an hour), read, listed by group and by author; the pad made public; text set,
appended, read (current and revision 1), revisions counted; HTML set and read (current and revision 1), the
attribute pool, a changeset, an HTML diff; a revision saved, counted and listed, an old one restored; last
edited; chat messages appended (one with a time), the chat head, the history (all and a range); the read-only
id and the pad it names; authors of the pad, pads of an author; users on the pad; a plain pad made, copied
(with and without history), moved, the moved-from pad read (refused), all pads listed; a text over 8 KB (the
client's header-key branch: refused); stats; a message to the pad's clients; refusals: a session in a group none
has, a pad none has, a revision past the head, a pad name with `/`; then the session deleted and read (refused),
a pad deleted, a group deleted (with its pads) and deleted again (refused), and the groups listed. Ids the server
hands out are carried from step to step in memory; the API key reaches the driver through its environment,
never a command line. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.
Quirks of this pair the session expects as they are: a wrong key is answered 401 (with the JSON envelope, code
4), so the client raises urllib's HTTPError; `getText` with a revision answers `{"text": {"text", "attribs"}}`;
copy and move answer `data: null`; the client's `getPadID` sends `readOnlyID` where API 1.2.15 reads `roID`
(refused, "padID does not exist"); its authorID branches compare a version string with an int (TypeError before
any request: the session passes no authorID but to the chat).

First contact (ep_etherpad-lite 1.8.14 on node 20.20, pyetherpadlite 1.2; two runs alike): 77 steps, 77 / 77 as
expected both directly and through the recorder (the same outcome each); 95 exchanges, all recorded, 57
interactions (55 with a provider state): one per function (the path word) and per set of form fields sent. On
disk: the API key in no file the harness keeps (the form field `apikey` of 94 requests and the header `apikey`
of the one over 8 KB redacted; Etherpad's session ids, `sessionID`, and every `Set-Cookie` redacted too). verify
with `--states-from-recording` alone: exit 2, one secret asked for, `apikey` (78 requests). With it: **53 / 57
green**. The 4 red, each counted once by its first cause:
(1) 2: state made by the writes of other operations on the same resource, named by a parameter. The reads of a
pad (`getAttributePool`, `listSavedRevisions`) are set up with the group's and the pad's creations only (the
calls that handed out the ids they send); the `setText`, `appendText`, `setHTML`, `saveRevision` the consumer
sent before them to the same `padID` (a form field, not a path: every call is `POST /api/1.2.15/FUNCTION`) hand
out nothing and are in no setup, so the attribute pool lacks bold and italic and the saved revisions are `[]`.
Mechanism: a write naming the same handle (a value a response handed out) in its parameters as the read is part
of the read's state, as a write to the same path is.
(2) 1: a map keyed by ids the server hands out. `listSessionsOfGroup` answers `{"s.ID": {...}}`; the key is the
recorded session's id, the fresh setup's session another. Mechanism: an object's keys equal to values a response
handed out are matched as keys of any name (values matched), or rebound to the fresh ids.
(3) 1: a creation refused because an earlier interaction's setup left the same name behind. `createGroupPad`
(with text) is "the names it chooses are free" (`padName: minutes`), but the setups of the pad's readers ran
`createGroupPad minutes` in the same group (`createGroupIfNotExistsFor` maps `team-docs` to it again) and nothing
undid it: creations and deletions are operation words in the path, not methods, so no undo is known. Answered
200 `{"code": 1, "message": "padName does already exist"}`: `data` null. Mechanism: an RPC's deletion paired with
its creation by the handle both send (`deletePad padID` undoes `createGroupPad` that handed out `padID`).
What the greens do not say (hollow): every refusal is HTTP 200 with `{"code": 1, "message": ...}`, and the
recorder takes it for a success: a function's refusals and successes with the same form fields are one
interaction (getText, getHTML with a revision, createSession, getSessionInfo, createGroupPad, deleteGroup), whose
`data` (null in the refusal, an object in the success) is left out and `code` matched as any integer, so a
server that refuses every call with code 1 verifies them; 27 of the 57 interactions check no `data` at all. Nor
are setups checked: a setup step answered code 1 counts as done. Reads of a pad pass on its shape only (the
revision count, the chat head, the saved revision count are numbers by type). The review flags none of this (its
"answered 2xx with a refusal" knows `error`/`errors` only), and flags `X-UA-Compatible: IE=Edge,chrome=1` as a
header "pinned to a value with digits" (a constant).
Now (two mechanisms since): **58 / 63 green**, with the API key alone, nothing secret on disk. (a) A 2xx whose body
carries a result code saying refusal (an integer `code`, `errcode`, `errno`... neither 0 nor a 2xx, beside a
message, every other field empty) is refused in its body: an interaction of its own (`POST /api/1.2.15/getText
returns 200 with error`: 8 such), a write so refused makes nothing, a setup step so answered fails; and a success's
code is pinned (equality), so a refusal no longer passes for it: the successes' `data` is checked (left out in 1
interaction, `listSessionsOfAuthor`, null for an author without sessions, an object for one with). (b) A secret a
response handed out (`$.data.sessionID`, redacted by its name) sent back in a form field gets a ProviderState
generator, as in a header, query or JSON body: `getSessionInfo` and `deleteSession` send the session the setup
made (red, resp. hollow, before). The 5 red, by class: (1) 2, state by other operations' writes on a handle a
parameter names (as above); (2) 1, a map keyed by handed-out ids (as above); (3) 2, creations refused for a name an
earlier interaction's setup left behind: `createGroupPad` as above, and now `createPad release-notes` (its code
pinned: 1 "padID does already exist" is no longer taken for 0).
One run: ~70 s (direct 12 s, record 23 s, verify 12 s,
verify2 20 s); the setup, once, 1 to 3 min (npm).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

EP_PIN, CLIENT_PIN = "ep_etherpad-lite@1.8.14", "pyetherpadlite==1.2"
API_VERSION = "1.2.15"
HOME = ROOT / ".venv" / "thirdparty" / "etherpad"
NPM_DIR = HOME / "npm"
SERVER_JS = NPM_DIR / "src" / "node" / "server.js"
VENV = HOME / "venv"
PYTHON = VENV / "bin" / "python"
CONSUMER, PROVIDER = "pyetherpadlite", "etherpad"
API_KEY = "ep-harness-" + secrets.token_hex(16)  # the server's APIKEY.txt, new each run
SESSION_SECONDS = 300


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)\.(\d+)", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or (int(m.group(1)), int(m.group(2))) < (12, 13):
        sys.exit("harness: Etherpad 1.8 needs node >= 12.13 on PATH (and npm to install it)")
    return node


def setup() -> str:
    """Etherpad laid out under HOME and the client's venv, each installed once per pin; the node to run it."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = f"{EP_PIN}\n{CLIENT_PIN}"
    if stamp.is_file() and stamp.read_text() == pins and SERVER_JS.is_file() and PYTHON.is_file():
        return node
    print(f"setup: installing {EP_PIN} and {CLIENT_PIN} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    NPM_DIR.mkdir(parents=True)
    npm = shutil.which("npm") or "npm"
    _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NPM_DIR), EP_PIN],
         "installing Etherpad")  # fmt: skip
    package = NPM_DIR / "node_modules" / "ep_etherpad-lite"
    if not (package / "node" / "server.js").is_file():
        sys.exit(f"harness: npm install left no {package / 'node' / 'server.js'}")
    package.rename(NPM_DIR / "src")  # Etherpad's base dir is the parent of `src`; plugins require the package
    package.symlink_to(Path("..") / "src")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(PYTHON, "install", CLIENT_PIN)
    stamp.write_text(pins)
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any proxy, node option or npm setting of the user's; HOME is `home`."""
    drop = ("NODE_OPTIONS", "NODE_ENV", "npm_", "NPM_", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    return env | {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}


def start_etherpad(stack: ExitStack, work: Path) -> str:
    """A fresh Etherpad (its settings, API key and an empty dirty DB in `work`); its URL once it serves."""
    node = find_node()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    port = free_port()
    settings = {
        "title": "Etherpad (harness)",
        "ip": "127.0.0.1",
        "port": port,
        "dbType": "dirty",
        "dbSettings": {"filename": str(work / "dirty.db")},
        "defaultPadText": "Welcome to Etherpad!\n",
        "minify": False,
        "loadTest": False,
        "loglevel": "INFO",
        "skinName": "colibris",
    }
    (work / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    (work / "APIKEY.txt").write_text(API_KEY)
    cmd = [node, str(SERVER_JS), "--settings", str(work / "settings.json"), "--apikey", str(work / "APIKEY.txt")]
    cmd += ["--sessionkey", str(work / "SESSIONKEY.txt"), "--credentials", str(work / "credentials.json")]
    log = work / "etherpad.log"
    proc = start(stack, cmd, log, cwd=NPM_DIR, env=clean_env(work), stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/api/", proc, log)
    return url


# --- the session -------------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the Etherpad at `url`; its steps' outcomes as a suite's counts."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "session.py", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    out.unlink(missing_ok=True)
    env = clean_env(work) | {"EP_HARNESS_API_KEY": API_KEY, "EP_HARNESS_API_VERSION": API_VERSION}
    proc = start(stack, [str(PYTHON), str(driver), url + "/api", str(out)], log, cwd=work, env=env)
    try:
        proc.wait(SESSION_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SESSION_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
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


# --- the DRIVER: run by the client's venv --------------------------------------------------------------

DRIVER = r'''
"""An application's session through pyetherpadlite against the Etherpad API at argv[1], each step a "test"
with its expected outcome ("ok", or the refusal provoked on purpose: "ValueError: MESSAGE"); the outcomes
written as JSON to argv[2]."""
import json
import os
import sys
import time

from py_etherpad import EtherpadLiteClient

BASE, OUT = sys.argv[1:3]
KEY, VERSION = os.environ["EP_HARNESS_API_KEY"], os.environ["EP_HARNESS_API_VERSION"]
ep = EtherpadLiteClient(KEY, BASE, api_version=VERSION)
results = []
ids = {}


class Wrong(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Wrong(str(what)[:300])


def step(name, fn, expect="ok"):
    t = time.monotonic()
    try:
        fn()
        got = "ok"
    except Wrong as e:
        got = f"wrong: {e}"
    except Exception as e:  # the client raises ValueError or Exception with the API's message
        got = f"{type(e).__name__}: {e}"
    results.append({"command": name, "exit": got, "expect": expect, "ok": got == expect,
                    "seconds": round(time.monotonic() - t, 2)})
    print(f"{'ok  ' if got == expect else 'FAIL'} {name}: {got}", flush=True)


def keep(name, prefix, value, field):
    check(isinstance(value, dict) and str(value.get(field, "")).startswith(prefix), value)
    ids[name] = value[field]


# the key, and what an empty server has
step("checkToken", lambda: check(ep.checkToken() is None, "not None"))
step("checkToken with a wrong key", lambda: EtherpadLiteClient("not-the-key", BASE, api_version=VERSION).checkToken(),
     "HTTPError: HTTP Error 401: Unauthorized")
step("listAllGroups (empty)", lambda: check(ep.listAllGroups() == {"groupIDs": []}, ep.listAllGroups()))
step("listAllPads (empty)", lambda: check(ep.listAllPads() == {"padIDs": []}, ep.listAllPads()))

# groups
step("createGroupIfNotExistsFor team-docs", lambda: keep("team", "g.", ep.createGroupIfNotExistsFor("team-docs"),
                                                         "groupID"))
step("createGroupIfNotExistsFor team-docs again",
     lambda: check(ep.createGroupIfNotExistsFor("team-docs") == {"groupID": ids["team"]}, "another id"))
step("createGroup", lambda: keep("scratch", "g.", ep.createGroup(), "groupID"))
step("listAllGroups", lambda: check(sorted(ep.listAllGroups()["groupIDs"]) == sorted([ids["team"], ids["scratch"]]),
                                    ep.listAllGroups()))

# authors
step("createAuthor Alice", lambda: keep("alice", "a.", ep.createAuthor("Alice Liddell"), "authorID"))
step("createAuthorIfNotExistsFor user-17", lambda: keep("bob", "a.", ep.createAuthorIfNotExistsFor("user-17", "Bob"),
                                                        "authorID"))
step("createAuthorIfNotExistsFor user-17 again",
     lambda: check(ep.createAuthorIfNotExistsFor("user-17", "Bob")["authorID"] == ids["bob"], "another id"))
step("getAuthorName Alice", lambda: check(ep.getAuthorName(ids["alice"]) == "Alice Liddell", "name"))
step("getAuthorName Bob", lambda: check(ep.getAuthorName(ids["bob"]) == "Bob", "name"))

# group pads
def make_minutes():
    got = ep.createGroupPad(ids["team"], "minutes", "Agenda\n")
    check(got == {"padID": ids["team"] + "$minutes"}, got)
    ids["pad"] = got["padID"]


step("createGroupPad minutes", make_minutes)
step("createGroupPad minutes again", lambda: ep.createGroupPad(ids["team"], "minutes"),
     "ValueError: padName does already exist")
step("createGroupPad drafts (no text)", lambda: check(ep.createGroupPad(ids["scratch"], "drafts")["padID"]
                                                     == ids["scratch"] + "$drafts", "padID"))
step("listPads of team", lambda: check(ep.listPads(ids["team"]) == {"padIDs": [ids["pad"]]}, ep.listPads(ids["team"])))
step("getText of drafts (the default text)",
     lambda: check(ep.getText(ids["scratch"] + "$drafts")["text"].startswith("Welcome to Etherpad!\n"), "text"))

# sessions
def make_session():
    keep("session", "s.", ep.createSession(ids["team"], ids["alice"], int(time.time()) + 3600), "sessionID")


def session_info():
    info = ep.getSessionInfo(ids["session"])
    check(info["groupID"] == ids["team"] and info["authorID"] == ids["alice"] and info["validUntil"] > time.time(),
          info)


step("createSession", make_session)
step("getSessionInfo", session_info)
step("listSessionsOfGroup", lambda: check(list(ep.listSessionsOfGroup(ids["team"])) == [ids["session"]], "sessions"))
step("listSessionsOfAuthor", lambda: check(ep.listSessionsOfAuthor(ids["alice"])[ids["session"]]["groupID"]
                                           == ids["team"], "sessions"))
step("listSessionsOfAuthor Bob (none)", lambda: check(ep.listSessionsOfAuthor(ids["bob"]) is None,
                                                      ep.listSessionsOfAuthor(ids["bob"])))

# public status
step("setPublicStatus", lambda: check(ep.setPublicStatus(ids["pad"], "true") is None, "not None"))
step("getPublicStatus", lambda: check(ep.getPublicStatus(ids["pad"]) == {"publicStatus": True}, "status"))

# text, revisions
TEXT = "Agenda\n1. Budget\n2. Hiring"
step("setText", lambda: check(ep.setText(ids["pad"], TEXT) is None, "not None"))
step("appendText", lambda: check(ep.appendText(ids["pad"], "\n3. Any other business") is None, "not None"))
step("getText", lambda: check(ep.getText(ids["pad"]) == {"text": TEXT + "\n3. Any other business\n"},
                              ep.getText(ids["pad"])))
# with a revision, Etherpad 1.8.14 answers the text and its attributes under "text"
step("getText rev 0", lambda: check(ep.getText(ids["pad"], 0)["text"]["text"] == "Agenda\n\n",
                                    ep.getText(ids["pad"], 0)))
step("getText rev 1", lambda: check(ep.getText(ids["pad"], 1)["text"]["text"].startswith("Agenda\n1. Budget"), "rev 1"))
step("getRevisionsCount", lambda: check(ep.getRevisionsCount(ids["pad"]) == {"revisions": 2}, "revisions"))
HTML = "<html><body><p>Minutes</p><p><b>Decided</b>: budget <i>approved</i></p></body></html>"
step("setHtml", lambda: check(ep.setHtml(ids["pad"], HTML) is None, "not None"))
step("getHtml", lambda: check("<strong>Decided</strong>" in ep.getHtml(ids["pad"])["html"], ep.getHtml(ids["pad"])))
step("getHtml rev 1", lambda: check("1. Budget" in ep.getHtml(ids["pad"], 1)["html"], "rev 1"))
step("getAttributePool", lambda: check("numToAttrib" in ep.getAttributePool(ids["pad"])["pool"], "pool"))
step("getRevisionChangeset rev 1", lambda: check(ep.getRevisionChangeset(ids["pad"], 1).startswith("Z:"), "changeset"))
step("getRevisionChangeset (head)", lambda: check(ep.getRevisionChangeset(ids["pad"]).startswith("Z:"), "changeset"))
step("createDiffHtml 1..3", lambda: check("html" in ep.createDiffHtml(ids["pad"], 1, 3), "diff"))
step("saveRevision", lambda: check(ep.saveRevision(ids["pad"]) is None, "not None"))
step("getSavedRevisionsCount", lambda: check(ep.getSavedRevisionsCount(ids["pad"]) == {"savedRevisions": 1}, "count"))
step("listSavedRevisions", lambda: check(ep.listSavedRevisions(ids["pad"]) == {"savedRevisions": [4]},
                                         ep.listSavedRevisions(ids["pad"])))
step("restoreRevision 1", lambda: check(ep.restoreRevision(ids["pad"], 1) is None, "not None"))
step("getText after the restore", lambda: check(ep.getText(ids["pad"])["text"].startswith("Agenda\n1. Budget"),
                                                ep.getText(ids["pad"])))
step("getLastEdited", lambda: check(ep.getLastEdited(ids["pad"])["lastEdited"] > 1_600_000_000_000, "lastEdited"))

# chat
step("appendChatMessage Alice", lambda: check(ep.appendChatMessage(ids["pad"], "shall we start?", ids["alice"])
                                              is None, "not None"))
step("appendChatMessage Bob with a time", lambda: check(
    ep.appendChatMessage(ids["pad"], "yes", ids["bob"], int(time.time() * 1000)) is None, "not None"))
step("getChatHead", lambda: check(ep.getChatHead(ids["pad"]) == {"chatHead": 1}, ep.getChatHead(ids["pad"])))
step("getChatHistory", lambda: check([m["text"] for m in ep.getChatHistory(ids["pad"])["messages"]]
                                     == ["shall we start?", "yes"], "messages"))
step("getChatHistory 0..0", lambda: check(ep.getChatHistory(ids["pad"], 0, 0)["messages"][0]["userId"] == ids["alice"],
                                          "message 0"))

# read-only, authors, users
step("getReadOnlyID", lambda: keep("readonly", "r.", ep.getReadOnlyID(ids["pad"]), "readOnlyID"))
# the client sends `readOnlyID`, API 1.2.15 reads `roID`: refused
step("getPadID", lambda: ep.getPadID(ids["readonly"]), "ValueError: padID does not exist")
step("listAuthorsOfPad", lambda: check(ep.listAuthorsOfPad(ids["pad"]) == {"authorIDs": []},
                                       ep.listAuthorsOfPad(ids["pad"])))
step("listPadsOfAuthor Bob", lambda: check(ep.listPadsOfAuthor(ids["bob"]) == {"padIDs": []}, "pads"))
step("padUsersCount", lambda: check(ep.padUsersCount(ids["pad"]) == {"padUsersCount": 0}, "count"))
step("padUsers", lambda: check(ep.padUsers(ids["pad"]) == {"padUsers": []}, "users"))

# plain pads: copy, move
step("createPad release-notes", lambda: check(ep.createPad("release-notes", "v1.0: first release\n") is None, "x"))
step("copyPad", lambda: check(ep.copyPad("release-notes", "release-notes-copy") is None, "copy"))
step("getText of the copy", lambda: check(ep.getText("release-notes-copy") == {"text": "v1.0: first release\n\n"},
                                          ep.getText("release-notes-copy")))
step("copyPadWithoutHistory", lambda: check(ep.copyPadWithoutHistory(ids["pad"], "minutes-archive") is None,
                                            "copy"))
step("getRevisionsCount of that copy", lambda: check(ep.getRevisionsCount("minutes-archive") == {"revisions": 1},
                                                     ep.getRevisionsCount("minutes-archive")))
step("movePad", lambda: check(ep.movePad("release-notes-copy", "release-notes-2026") is None, "move"))
step("getText of the moved-from pad", lambda: ep.getText("release-notes-copy"), "ValueError: padID does not exist")
step("listAllPads", lambda: check(sorted(ep.listAllPads()["padIDs"]) == sorted(
    [ids["pad"], ids["scratch"] + "$drafts", "release-notes", "release-notes-2026", "minutes-archive"]),
    ep.listAllPads()))
step("setText over 8 KB (the key in a header)", lambda: ep.setText("release-notes", "line of notes\n" * 700),
     "HTTPError: HTTP Error 401: Unauthorized")

# the instance
step("getStats", lambda: check(ep.getStats()["totalPads"] == 5, ep.getStats()))
step("sendClientsMessage", lambda: check(ep.sendClientsMessage(ids["pad"], "maintenance at noon") is None, "not None"))

# refusals
step("createSession in a group none has", lambda: ep.createSession("g.AAAAAAAAAAAAAAAA", ids["alice"],
                                                                    int(time.time()) + 60),
     "ValueError: groupID does not exist")
step("getText of a pad none has", lambda: ep.getText("no-such-pad"), "ValueError: padID does not exist")
step("getHtml past the head", lambda: ep.getHtml(ids["pad"], 99),
     "ValueError: rev is higher than the head revision of the pad")
step("createPad with a slash", lambda: ep.createPad("bad/name"),
     "ValueError: malformed padID: Remove special characters")

# tidying up
step("deleteSession", lambda: check(ep.deleteSession(ids["session"]) is None, "not None"))
step("getSessionInfo of the deleted session", lambda: ep.getSessionInfo(ids["session"]),
     "ValueError: sessionID does not exist")
step("deletePad release-notes", lambda: check(ep.deletePad("release-notes") is None, "not None"))
step("deleteGroup scratch", lambda: check(ep.deleteGroup(ids["scratch"]) is None, "not None"))
step("deleteGroup scratch again", lambda: ep.deleteGroup(ids["scratch"]), "ValueError: groupID does not exist")
step("listAllGroups at the end", lambda: check(ep.listAllGroups() == {"groupIDs": [ids["team"]]}, ep.listAllGroups()))
step("listAllPads at the end", lambda: check(sorted(ep.listAllPads()["padIDs"]) == sorted(
    [ids["pad"], "release-notes-2026", "minutes-archive"]), ep.listAllPads()))

with open(OUT, "w") as f:
    json.dump(results, f, indent=1)
'''


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the API key (the provider team's, in the server's
    APIKEY.txt) where the name or the example says a key, else a placeholder."""
    args = []
    for name, example in re.findall(r"^\s+([\w.:-]+): needed by .*?e\.g\. '([^']*)'", message, re.M):
        value = API_KEY if "key" in name.lower() or "/api/" in example else "x"
        args += ["--secret", f"{name}={value}"]
    return args


def leaked(work: Path, values: list[str]) -> list[str]:
    """The files the harness kept (the pact and states file, the logs, the reports; not the servers' own dirs,
    whose APIKEY.txt holds the key) that hold one of `values`."""
    files = [p for p in work.rglob("*") if p.is_file() and "server" not in p.relative_to(work).parts]
    return sorted(str(p.relative_to(work)) for p in files if any(v in p.read_text(errors="replace") for v in values))


def masked(text: str) -> str:
    return text.replace(API_KEY, "****")


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(stack, start_etherpad(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_etherpad(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(stack, url, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_etherpad(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_etherpad(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:12], f"... ({len(lines) - 12} more lines)"] if len(lines) > 13 else lines
        run["args"] = [masked(a) for a in run["args"]]  # figures.json keeps no key either
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    on_disk = leaked(work, [API_KEY])
    print(f"the API key in clear in: {', '.join(on_disk) or 'no file kept (pact, states file, logs, reports)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "etherpad": EP_PIN,
        "client": CLIENT_PIN,
        "node": subprocess.run([find_node(), "--version"], capture_output=True, text=True).stdout.strip(),
        "consumer": "pyetherpadlite (py_etherpad), an application's session",
        "verify_args": [masked(a) for a in args],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "api_key_in_clear": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("etherpad", __doc__, phases, sys.argv[1:], setup))
