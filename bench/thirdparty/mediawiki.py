"""Record MediaWiki's Action API while the real client library mwclient runs an editor's session against it,
then verify the pact against a fresh, empty MediaWiki.

    .venv/bin/python bench/thirdparty/mediawiki.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`) if given, else `--secret
NAME=VALUE` for each NAME it names, VALUE what the teams know: the password the session sent beside the
username of the request that holds it (the administrator's is the provider team's, the installer's; the
editor's, the session's), else a placeholder (tokens and session cookies are handed out by the server: none
knows them beforehand).

What it does, each phase timed:
  setup    Debian's `mediawiki` (1.39, PHP 8.2) with `php-cli`, `php-sqlite3` and `lighttpd` (the web server the
           package depends on, never started; `php -S` serves), with `apt-get install` when missing; mwclient
           0.11 from PyPI in a venv under .venv/thirdparty/mediawiki, installed once per pin set.
  direct   a fresh wiki and the session below run straight against it (--no-direct leaves this out).
  record   another fresh wiki, `pact-recorder record --consumer mwclient --provider mediawiki` in front of it,
           the same session pointed at the recorder; SIGTERM makes it write OUT/mwclient-mediawiki.json.
  verify   a third fresh wiki (empty: the installer's administrator and main page, nothing else),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with what it
           asked for (verify2).
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many had
the same outcome both ways, which password, token or session cookie reached a file the harness kept, exchanges,
interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each wiki: `php maintenance/install.php` (under a second) into a temp dir of its own (LocalSettings.php, a
SQLite database; the administrator's password from a file removed at once), SETTINGS appended (the wiki team's
test instance: sessions and caches in the database, uploads on, no mail, no rate limits for 127.0.0.1), served
by `php -S 127.0.0.1:PORT` from Debian's tree with `MW_CONFIG_FILE` pointing at it. Ready once `api.php`
answers siteinfo.

The API: MediaWiki's Action API, one URL, `/api.php`: the operation in `action=` (`query` with its `list=`,
`prop=`, `meta=`, `generator=` submodules; `edit`, `move`, `delete`, `protect`, `upload`, `login`,
`clientlogin`, `createaccount`, `logout`, `parse`), reads as GETs, writes as urlencoded form POSTs (an upload as
multipart), each write carrying a CSRF token from `meta=tokens` in its body, the login and account-creation
tokens likewise; the session in cookies (`wiki_session`, `wikiUserID`, `wikiUserName`, `wikiToken`, and
`cpPosIndex`, `UseDC`, `UseCDNCache` after a write); continuation by `continue=` and `*continue=` values the
previous answer handed out; pages keyed by page id in `query.pages`; refusals answered 200 with
`{"error": {"code": ...}}`.

The session (DRIVER, 44 steps, each one "test", passed when it has its expected outcome: "ok", or the error
code of a refusal it provokes on purpose): an anonymous reader connects (siteinfo, userinfo), reads the main
page and a missing one, signs up an editor's account (`createaccount` with its own token; mwclient's get_token
would ask for a csrf token) and the same name again (userexists); the administrator logs in by `clientlogin`,
a wrong password by `action=login` is refused (Failed), the editor logs in by `action=login`; the editor creates
five pages in a category, reads one back, appends a section and adds a new one, reads revisions with content
and by id, an edit with a bad token (badtoken), an edit conflict (read, the administrator rewrites it a second
later, the stale edit: EditError); links and backlinks, category members, pages by prefix, recent changes,
contributions, full-text search, each a few at a time with continuation; parse; uploads a 2x2 PNG, again
without ignoring warnings (FileExists), reads its imageinfo and the wiki's files; moves a page and reads it
through its redirect; the administrator protects a page, the editor's stale edit of it is refused
(protectedpage), the editor's delete is refused (permissiondenied), the administrator deletes it, it is
missing; the log, the watchlist; the editor logs out, an edit with its old token and `assert=user` is refused
(assertuserfailed); the administrator unprotects and logs out. Passwords come from the environment, never a
command line; tokens and cookies are kept in memory only.

Why mwclient: the Python client of this API most used (0.11, the newest release; pywikibot needs a
family file per wiki); its own tests mock the HTTP layer, so a session drives it.

First contact (MediaWiki 1.39.17 from Debian 12, PHP 8.2.36, mwclient 0.11.0; three runs): 44 steps, 44 / 44 with
their expected outcome directly and through the recorder (the same each); 91 exchanges, 91 recorded, 44
interactions (41 with a provider state). verify with `--states-from-recording` alone: exit 2, asking for 4
secrets (5 in one run): `lgpassword` (the refused login's), `password` (the editor's, at createaccount and
its logins), `password_3` (the administrator's, at clientlogin), `token` (the bad token the session made up)
(and `starttimestamp`, an edit's start time, in one run); with them: **43 / 44 green, hollow**. The editor's
password is in clear in the pact (the `retype` field of createaccount). The figure says little:
  (1) one URL, the operation in parameter values: interactions are told apart by the NAMES of the query or
      form parameters only, so different operations and outcomes share one (the refused and the successful
      `action=login`, the refused and the done `action=delete`, both sign-ups, the login and csrf token
      fetches, 20 `prop=info` reads of different titles), and the response shape is pooled over the whole
      URL: every response body in the pact is `{}` (the POSTs) or `{"batchcomplete": "", "query": {}}` (the
      GETs), "left out: not in every response" even where the interaction's every exchange had it. Any answer
      of the right top-level type passes.
  (2) refusals answered 200: a setup step answered `{"error": {...}}` counts as done (recorded 200, answered
      200), and so do the interactions.
  (3) the account a login needs is no state: `action=createaccount` (answered 200, handing out nothing a later
      request sends back; the username is the consumer's) is never a setup step, so on the empty wiki every
      setup's editor login fails, no session cookie is issued, and the requests go out with the cookie
      header as recorded, `wiki_session=<redacted>; ...` (150 of the 269 requests of one verify run, setups
      and interactions alike): edits, moves, uploads and deletes answered `assertuserfailed`, `badtoken` or
      `notloggedin`, all 200. A cookie header whose cookies include one no setup issued (`cpPosIndex` after an
      edit outside the setup) is sent redacted as a whole too.
  The one red: `GET /api.php (... list, wldir, wllimit)`, the watchlist, answered `{"error":
  {"code": "notloggedin"}}` (missing keys batchcomplete, query), the only read that refuses an anonymous
  caller. One run: 30 to 45 s (direct 5-9 s, record 9-15 s, verify 1-2 s, verify2 11-17 s).

Now, after operations named by a parameter's value became interactions of their own (rules `operations`:
`action`, `list`, `prop`, `meta`, `generator` among them) and one refused with 200 and an `error` another
(`... returns 200 with error`): 91 exchanges in 45 interactions (`GET /api.php action=query list=recentchanges
meta=userinfo returns 200`, `POST /api.php action=edit returns 200`), every answer the operation's own,
checked field by field, the operation's values pinned by equality; exit 2 as before, nothing secret on disk;
with the secrets **18 / 45** (two runs). (1) is gone, and with it the hollow green that hid (3): on the empty
wiki every setup's login of the signed-up editor answers `Failed` (no setup makes the account: its name,
`Harness Editor`, holds a space, and a value with one is taken for text shared by chance), so the edits the
reads need are answered `assertuserfailed`, the reads list nothing (`Expected [] to have minimum size of 1`),
and the writes sent with the recorded session's token are answered `badtoken`.
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
from urllib.parse import parse_qsl

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGES = ["mediawiki", "php-cli", "php-sqlite3", "lighttpd"]  # lighttpd: the httpd it needs, not apache2
MEDIAWIKI = Path("/usr/share/mediawiki")
MWCLIENT = "0.11.0"
PINS = [f"mwclient=={MWCLIENT}"]
HOME = ROOT / ".venv" / "thirdparty" / "mediawiki"
VENV = HOME / "venv"
PY = VENV / "bin" / "python"
CONSUMER, PROVIDER = "mwclient", "mediawiki"
ADMIN, ADMIN_PASSWORD = "Admin", "Admin-harness-Pw-6d1e93"  # the installer's account: the provider team's
EDITOR, EDITOR_PASSWORD = "Harness Editor", "Editor-harness-Pw-2f7a4c"  # signed up by the session
WRONG_PASSWORD = "not-the-admins-Pw-81b0"
OTHER_PASSWORD = "Another-harness-Pw-55c1"  # a refused second sign-up of the editor's name
SCRIPT_SECONDS = 300
# the wiki team's settings for its test instance, the same on every server the harness starts: sessions and
# caches in the database (no APCu), uploads on into the instance's own dir, no mail, no rate limits for the
# one machine the tests run on (a new account may make 8 edits a minute, 2 moves in 2 minutes)
SETTINGS = """
# --- the harness's test instance
$wgServer = "{server}";
$wgMainCacheType = CACHE_DB;
$wgSessionCacheType = CACHE_DB;
$wgEnableUploads = true;
$wgUploadDirectory = "{images}";
$wgUseImageMagick = false;
$wgEnableEmail = false;
$wgRateLimitsExcludedIPs = [ '127.0.0.1' ];
"""


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """Debian's mediawiki with PHP's CLI and SQLite (when missing; no web server of the system's is started),
    and mwclient in a venv under HOME, installed once per pin set; the venv's python."""
    if not ((MEDIAWIKI / "maintenance" / "install.php").is_file() and shutil.which("php")):
        common.apt_install(*PACKAGES)
    stamp = HOME / ".installed"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(PINS) and PY.is_file()):
        print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(PY, "install", *PINS)
        stamp.write_text("\n".join(PINS))
    return PY


def version() -> str:
    text = (MEDIAWIKI / "includes" / "Defines.php").read_text(errors="replace")
    m = re.search(r"MW_VERSION', '([^']+)'", text)
    return m.group(1) if m else "?"


def clean_env(work: Path) -> dict[str, str]:
    """The environment less any proxy or MediaWiki setting of the user's (everything talks to 127.0.0.1)."""
    drop = ("MW_", "PHP", "PYTHON")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(drop)}
    return env | {"HOME": str(work), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


# --- the server --------------------------------------------------------------------------------------


def start_mediawiki(stack: ExitStack, work: Path) -> str:
    """A fresh wiki of its own: `maintenance/install.php` into `work` (LocalSettings.php, a new SQLite
    database; the installer makes the administrator's account and the main page, nothing else), SETTINGS
    appended, served by `php -S` from Debian's tree with MW_CONFIG_FILE pointing at it; its URL once ready."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(work)
    cmd = ["php", str(MEDIAWIKI / "maintenance" / "install.php"), "--confpath", str(work), "--dbtype", "sqlite",
           "--dbpath", str(work / "db"), "--dbname", "wiki", "--server", url, "--scriptpath", "", "--lang", "en",
           "--passfile", str(work / "admin-password"), "Harness Wiki", ADMIN]  # fmt: skip
    (work / "admin-password").write_text(ADMIN_PASSWORD)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=env, timeout=120)
    finally:
        (work / "admin-password").unlink()
    if done.returncode:
        raise RuntimeError(f"install.php failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    (work / "images").mkdir(exist_ok=True)
    settings = work / "LocalSettings.php"
    settings.write_text(settings.read_text() + SETTINGS.format(server=url, images=work / "images"))
    log = work / "php.log"
    proc = start(stack, ["php", "-S", f"127.0.0.1:{port}", "-t", str(MEDIAWIKI)], log, cwd=work,
                 env=env | {"MW_CONFIG_FILE": str(settings)})  # fmt: skip
    wait_http(f"{url}/api.php?action=query&meta=siteinfo&format=json", proc, log)
    return url


# --- the session -------------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the wiki at `url`, in the venv; its steps' outcomes as a suite's counts, and the
    tokens and session cookies it was handed (kept in memory only)."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "editor_session.py", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    accounts = {
        "admin": [ADMIN, ADMIN_PASSWORD],
        "editor": [EDITOR, EDITOR_PASSWORD],
        "wrong": WRONG_PASSWORD,
        "other": OTHER_PASSWORD,
    }
    env = clean_env(work) | {"HARNESS_ACCOUNTS": json.dumps(accounts)}
    proc = start(stack, [str(PY), str(driver), url, str(out)], log, cwd=work, env=env)
    try:
        proc.wait(SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SCRIPT_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps(done["results"], indent=1) + "\n")  # the tokens do not stay on disk
    results = done["results"]
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
        "secrets": done["secrets"],
    }


# --- the DRIVER: run in the venv ---------------------------------------------------------------------

DRIVER = r'''
"""An editor's session: mwclient against the wiki argv[1], each step a "test" with its expected outcome ("ok",
or the API's error code for a refusal provoked on purpose); the outcomes, and the tokens and session cookies
handed out, written as JSON to argv[2]."""

import io
import json
import os
import sys
import time
import traceback
import zlib
import struct
from urllib.parse import urlsplit

import mwclient
from mwclient import errors

URL, OUT = sys.argv[1:3]
ACCOUNTS = json.loads(os.environ["HARNESS_ACCOUNTS"])
ADMIN, ADMIN_PW = ACCOUNTS["admin"]
EDITOR, EDITOR_PW = ACCOUNTS["editor"]
WRONG_PW, OTHER_PW = ACCOUNTS["wrong"], ACCOUNTS["other"]
HOST = urlsplit(URL).netloc
CATEGORY = "Harness pages"
BOLD = "'" * 3
PAGES = ["Harness/Alpha", "Harness/Beta", "Harness/Gamma", "Harness/Delta", "Harness/Epsilon"]

results = []
sites = []
secrets = set()


class Wrong(Exception):
    pass


def check(got, want, what=""):
    if got != want:
        raise Wrong(f"{what}: got {got!r}, want {want!r}")


def site():
    s = mwclient.Site(HOST, path="/", scheme="http", max_retries=2, retry_timeout=1,
                      clients_useragent="pact-recorder-harness")
    sites.append(s)
    return s


def keep_secrets():
    """The tokens each client holds and its session cookies (never written but in memory and OUT)."""
    for s in sites:
        secrets.update(v for v in s.tokens.values() if v and v != "+\\")
        secrets.update(c.value for c in s.connection.cookies if c.name.endswith(("_session", "Token")))


def step(name, fn, expect="ok"):
    t = time.monotonic()
    try:
        fn()
        outcome = "ok"
    except Wrong as e:
        outcome, detail = "wrong", str(e)
    except (errors.APIError, errors.LoginError, errors.ProtectedPageError) as e:
        outcome = str(e.code)
    except Exception as e:  # noqa: BLE001 - any other failure is the step's outcome
        outcome = type(e).__name__
        traceback.print_exc()
    keep_secrets()
    r = {"command": name, "exit": outcome, "expect": expect, "ok": outcome == expect,
         "seconds": round(time.monotonic() - t, 2)}
    if outcome == "wrong":
        r["detail"] = detail
    results.append(r)
    print(("ok   " if r["ok"] else "FAIL ") + name + " -> " + outcome, flush=True)


def png(width=2, height=2, rgb=(200, 30, 30)):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def status(result, key):
    return result[key].get("status") or result[key].get("result")


kept = {}


# --- a reader, anonymous
def reader():
    kept["reader"] = site()
    check(kept["reader"].username.count("."), 3, "an anonymous reader is named by its IP")


step("connect anonymously (siteinfo, userinfo)", reader)
step("read the main page", lambda: check("MediaWiki" in kept["reader"].pages["Main Page"].text(), True, "text"))
step("a page that does not exist", lambda: check(kept["reader"].pages["Harness/Nowhere"].exists, False, "exists"))


def sign_up(name, password):
    s = kept["reader"]
    # mwclient's get_token takes any type but a few for "csrf": the account creation token asked for itself
    token = s.get("query", meta="tokens", type="createaccount")["query"]["tokens"]["createaccounttoken"]
    secrets.add(token)
    r = s.post("createaccount", username=name, password=password, retype=password,
               createreturnurl=URL + "/", createtoken=token)
    got = status(r, "createaccount")
    if got != "PASS":
        raise errors.APIError(r["createaccount"].get("messagecode", got), r["createaccount"].get("message"), {})


step("sign up an editor's account (createaccount token)", lambda: sign_up(EDITOR, EDITOR_PW))
step("sign up the same name again", lambda: sign_up(EDITOR, OTHER_PW), "userexists")


# --- logins
def admin_login():
    kept["admin"] = a = site()
    check(a.clientlogin(username=ADMIN, password=ADMIN_PW), True, "clientlogin")
    a.site_init()
    check("sysop" in a.groups, True, "groups")


def wrong_login():
    site().login(ADMIN, WRONG_PW)


def editor_login():
    kept["editor"] = e = site()
    e.login(EDITOR, EDITOR_PW)
    check(e.logged_in, True, "logged in")
    check(e.username, EDITOR, "username")


step("the administrator logs in (clientlogin)", admin_login)
step("a wrong password (action=login)", wrong_login, "Failed")
step("the editor logs in (action=login)", editor_login)


# --- the editor writes
def create(i):
    title = PAGES[i]
    nxt = PAGES[(i + 1) % len(PAGES)]
    text = (f"{BOLD}{title}{BOLD} is page {i + 1} of the harness.\n\nSee [[{nxt}]] and [[Main Page]].\n\n"
            f"[[Category:{CATEGORY}]]")
    r = kept["editor"].pages[title].edit(text, summary=f"create {title}")
    check(r["result"], "Success", "result")
    check("new" in r, True, "new")


for i in range(len(PAGES)):
    step(f"create {PAGES[i]} (csrf token)", lambda i=i: create(i))


def read_back():
    text = kept["editor"].pages[PAGES[0]].text(cache=False)
    check(text.startswith(f"{BOLD}{PAGES[0]}{BOLD}"), True, "text")


step("read a page back", read_back)


def append():
    page = kept["editor"].pages[PAGES[0]]
    kept["alpha"] = page  # loaded now: its protection as it is now
    r = page.append("\n\n== History ==\nA second revision.", summary="add a section")
    check(r["result"], "Success", "result")


step("edit a page again (a second revision)", append)


def revisions():
    revs = list(kept["editor"].pages[PAGES[0]].revisions(prop="ids|timestamp|user|comment|content"))
    check([r["comment"] for r in revs], ["add a section", f"create {PAGES[0]}"], "comments")
    check({r["user"] for r in revs}, {EDITOR}, "users")
    kept["revids"] = [r["revid"] for r in revs]


step("read the page's revisions with their content", revisions)
step("read revisions by id", lambda: check(sorted(r["revid"] for r in kept["editor"].revisions(kept["revids"])),
                                           sorted(kept["revids"]), "revids"))


def section_edit():
    r = kept["editor"].pages[PAGES[1]].edit("== Notes ==\nA section of its own.", section="new",
                                            summary="a new section")
    check(r["result"], "Success", "result")


step("add a new section to a page", section_edit)


def bad_token():
    kept["editor"].post("edit", title=PAGES[2], text="vandalism", token="0123456789abcdef0123456789abcdef+\\")


step("an edit with a bad csrf token", bad_token, "badtoken")


def conflict():
    stale = kept["editor"].pages[PAGES[3]]
    stale.text()  # read before the administrator edits it: the base revision the edit names
    time.sleep(1.1)  # basetimestamp is in seconds: a rewrite in the same second is no conflict
    kept["admin"].pages[PAGES[3]].edit("A harness page the administrator rewrote.", summary="rewrite")
    stale.edit("Rewritten by the editor.", summary="my rewrite")


step("an edit conflict (a stale base revision)", conflict, "EditError")


# --- reads with continuation
def links():
    check([p.name for p in kept["editor"].pages[PAGES[0]].links()], ["Harness/Beta", "Main Page"], "links")
    check([p.name for p in kept["editor"].pages[PAGES[1]].backlinks()], [PAGES[0]], "backlinks")


step("a page's links and backlinks", links)
step("category members, two at a time", lambda: check(
    sorted(m["title"] for m in mwclient.listing.List(kept["editor"], "categorymembers", "cm", api_chunk_size=2,
                                                     cmtitle="Category:" + CATEGORY)),
    sorted(set(PAGES) - {PAGES[3]}), "members"))  # the administrator's rewrite left the category
step("pages by prefix, two at a time", lambda: check(
    [p.name for p in kept["editor"].allpages(prefix="Harness/", api_chunk_size=2)], sorted(PAGES), "titles"))


def recent():
    changes = list(kept["editor"].recentchanges(api_chunk_size=3, prop="title|user|comment|ids", max_items=9))
    check(len(changes), 9, "changes")
    check(changes[0]["title"], PAGES[3], "newest")


step("recent changes, three at a time", recent)
step("the editor's contributions", lambda: check(
    len(list(kept["editor"].usercontributions(EDITOR, api_chunk_size=4))), 7, "contributions"))


def search():
    found = [r["title"] for r in kept["editor"].search("harness", what="text", api_chunk_size=2)]
    check(sorted(found), sorted(PAGES), "titles")


step("search the text, two at a time", search)
step("parse a page", lambda: check(
    "Harness/Beta" in kept["editor"].parse(page=PAGES[0], prop="links")["links"][0]["*"], True, "links"))


# --- a file
def upload():
    r = kept["editor"].upload(io.BytesIO(png()), "Harness-dot.png", description="A red dot.\n\n[[Category:"
                              + CATEGORY + "]]", comment="a dot")
    check(r.get("result"), "Success", "result")


def upload_again():
    kept["editor"].upload(io.BytesIO(png(rgb=(30, 30, 200))), "Harness-dot.png", description="A blue dot.")


def image_info():
    image = kept["editor"].images["Harness-dot.png"]
    check([image.imageinfo["width"], image.imageinfo["height"], image.imageinfo["mime"]], [2, 2, "image/png"],
          "imageinfo")


step("upload a small PNG (multipart, csrf token)", upload)
step("upload over it without ignoring warnings", upload_again, "FileExists")
step("the file's information", image_info)
step("the files of the wiki", lambda: check([i.name for i in kept["editor"].allimages()], ["File:Harness-dot.png"],
                                            "images"))


# --- move, protect, delete
def move():
    r = kept["editor"].pages[PAGES[4]].move("Harness/Epsilon moved", reason="a better name")
    check(r["to"], "Harness/Epsilon moved", "to")


def redirect():
    check(kept["editor"].pages[PAGES[4]].resolve_redirect().name, "Harness/Epsilon moved", "target")


def protect():
    a = kept["admin"]
    r = a.post("protect", title=PAGES[0], protections="edit=sysop|move=sysop", expiry="infinite",
               reason="high traffic", token=a.get_token("csrf"))
    check([p.get("edit") or p.get("move") for p in r["protect"]["protections"]], ["sysop", "sysop"], "protections")


def edit_protected():
    kept["alpha"].edit("Edited while protected.", summary="sneaky")  # the page as loaded before the protection


def delete_refused():
    e = kept["editor"]
    e.post("delete", title=PAGES[2], reason="mine to delete?", token=e.get_token("csrf"))


def delete():
    r = kept["admin"].pages[PAGES[2]].delete(reason="no longer needed")
    check(r["title"], PAGES[2], "title")


def deleted():
    check(kept["editor"].pages[PAGES[2]].exists, False, "exists")


step("move a page", move)
step("read the moved page through its redirect", redirect)
step("the administrator protects a page", protect)
step("the editor edits the protected page", edit_protected, "protectedpage")
step("the editor deletes a page", delete_refused, "permissiondenied")
step("the administrator deletes a page", delete)
step("read the deleted page", deleted)
step("the log of deletions, protections and moves", lambda: check(
    sorted({e["type"] for e in kept["editor"].logevents(api_chunk_size=5) if e["type"] in ("delete", "protect", "move",
                                                                                    "upload")}),
    ["delete", "move", "protect", "upload"], "types"))
step("the editor's watchlist", lambda: check(len(list(kept["editor"].watchlist())) > 0, True, "watched"))


# --- logging out
def logout(who):
    s = kept[who]
    kept[f"{who} token"] = s.get_token("csrf")
    s.post("logout", token=kept[f"{who} token"])
    s.site_init()
    check(s.logged_in, False, "logged in")


def edit_after_logout():
    e = kept["editor"]
    e.post("edit", title=PAGES[1], appendtext="after logout", token=kept["editor token"], **{"assert": "user"})


def unprotect():
    a = kept["admin"]
    a.post("protect", title=PAGES[0], protections="edit=all|move=all", reason="quieter", token=a.get_token("csrf"))


step("the editor logs out", lambda: logout("editor"))
step("an edit with the logged-out session's token", edit_after_logout, "assertuserfailed")
step("the administrator unprotects the page", unprotect)
step("the administrator logs out", lambda: logout("admin"))

keep_secrets()
with open(OUT, "w") as f:
    json.dump({"results": results, "secrets": sorted(secrets)}, f)
'''


# --- secrets on disk and the verifier ----------------------------------------------------------------


def passwords() -> dict[str, str]:
    return {"the administrator's password": ADMIN_PASSWORD, "the editor's password": EDITOR_PASSWORD,
            "the wrong password": WRONG_PASSWORD, "a refused sign-up's password": OTHER_PASSWORD}  # fmt: skip


def answers(message: str, out: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names, VALUE the password the session sent where the
    recording used NAME (beside the username of each request that holds it), as the teams know it; a
    placeholder for any other NAME (a token or a cookie the server hands out: none knows it beforehand)."""
    where = secret_requests(out)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = where.get(name, set()) - {None}
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def sent_password(form: dict[str, str], field: str) -> str | None:
    """The password the session sent in `field` of a form body, by the username beside it: the
    administrator's at `clientlogin`, the wrong one at `login` (the only login of the administrator's by
    `action=login` is the refused one); the editor's wherever it signs up or logs in."""
    if field not in ("password", "lgpassword", "retype"):
        return None
    user = (form.get("username") or form.get("lgname") or "").replace("_", " ")
    if user == ADMIN:
        return WRONG_PASSWORD if field == "lgpassword" else ADMIN_PASSWORD
    return EDITOR_PASSWORD if user == EDITOR else None


def form_of(body) -> dict[str, str]:
    """A recorded request body as the form it is (a urlencoded text), or a JSON object as it is."""
    if isinstance(body, dict):
        return {k: str(v) for k, v in body.items()}
    return dict(parse_qsl(body, keep_blank_values=True)) if isinstance(body, str) else {}


def secret_requests(out: Path) -> dict[str, set[str | None]]:
    """For each secret name a recorded request body holds, the passwords the session sent there: the pact's
    interactions (`comments.pactRecorder.secrets`) and the states file's setup steps (`secrets`)."""
    found: dict[str, set[str | None]] = {}

    def note(body, secrets) -> None:
        for s in secrets or []:
            if s.get("secret") and s.get("in") in ("form", "body"):
                field = str(s["key"][-1] if isinstance(s.get("key"), list) else s.get("key") or "")
                found.setdefault(s["secret"], set()).add(sent_password(form_of(body), field))

    pact = json.loads((out / f"{CONSUMER}-{PROVIDER}.json").read_text())
    for i in pact["interactions"]:
        note((i["request"].get("body") or {}).get("content"), i.get("comments", {}).get("pactRecorder", {})
             .get("secrets"))  # fmt: skip
    states = out / f"{CONSUMER}-{PROVIDER}.states.yaml"
    if states.is_file():

        def walk(node) -> None:
            if isinstance(node, dict):
                if "secrets" in node and "status" in node:
                    note(node.get("text") or node.get("json"), node["secrets"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(yaml.safe_load(states.read_text()))
    return found


def leaked(work: Path, secrets: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each kind of secret, the files the harness kept (the pact and states file, the logs, the reports;
    not the wikis' own dirs, whose databases hold their sessions) that hold one of its values in clear."""
    files = [p for p in work.rglob("*") if p.is_file() and "server" not in p.relative_to(work).parts]
    found = {}
    for kind, values in secrets.items():
        hits = [p for p in files if any(v and v in p.read_text(errors="replace") for v in values)]
        found[kind] = sorted(str(p.relative_to(work)) for p in hits)
    return found


def masked(text: str) -> str:
    for password in passwords().values():
        text = text.replace(password, "****")
    return text


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(stack, start_mediawiki(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_mediawiki(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(stack, url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    handed_out = recorded.pop("secrets") + (direct_run.pop("secrets") if direct_run else [])
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_mediawiki(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"], out)
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_mediawiki(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:14], f"... ({len(lines) - 14} more lines)"] if len(lines) > 15 else lines
        run["args"] = [masked(a) for a in run["args"]]  # figures.json keeps no password either
        run["message"] = masked(run["message"])
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    on_disk = leaked(work, {"passwords": list(passwords().values()), "tokens and session cookies": handed_out})
    for kind, files in on_disk.items():
        print(f"{kind} of the session in clear in: {', '.join(files) or 'no file kept (pact, states file, logs)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "mediawiki": version(),
        "mwclient": MWCLIENT,
        "pins": PINS,
        "consumer": "an editor's session with mwclient",
        "verify_args": [masked(a) for a in args],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_in_clear": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("mediawiki", __doc__, phases, sys.argv[1:], setup))
