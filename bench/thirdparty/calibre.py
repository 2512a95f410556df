"""Record calibre's content server (user accounts on, HTTP Digest auth) while calibre's own CLI, `calibredb` in
remote mode, runs a librarian's session against it, then verify the pact against a fresh, empty library.

    .venv/bin/python bench/thirdparty/calibre.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the librarian's password (an
`authorization` one as the header a client would send: for Digest there is none that is valid twice, so the
Basic form of the same credentials, which this server refuses: Digest is what it asks for).

What it does, each phase timed:
  setup    Debian's `calibre` (6.13: `calibre-server`, `calibredb` and `ebook-convert`), with `apt-get install`
           when missing (no service: the package has none). No venv: nothing comes from PyPI.
  direct   a fresh content server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer calibredb --provider calibre-server` in front
           of it, the same session pointed at the recorder (`--with-library http://RECORDER/#Library`); SIGTERM
           makes it write OUT/calibredb-calibre-server.json.
  verify   a third fresh server (its library empty: no book, no saved search), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each server is `calibre-server --listen-on 127.0.0.1 --port PORT --enable-auth --userdb USERS.db
--disable-use-bonjour LIBRARY` in a work dir of its own (HOME and CALIBRE_CONFIG_DIRECTORY there too), serving
one library made beforehand with the local `calibredb --with-library DIR add_custom_column` (two custom columns,
`#shelf` text and `#pages` integer: the remote CLI cannot add columns, so a librarian makes them locally once;
the library's id is its folder's name, `Library`) and a user database made with `calibre-server --manage-users
-- add`: `librarian` (read and write) and `reader` (`--readonly`). With no TLS the server's `--auth-mode auto`
is Digest (RFC 7616, MD5, qop=auth): every request is first answered 401 with a `WWW-Authenticate: Digest`
challenge whose nonce is a timestamp signed with a secret the server draws at start, and sent again with an
`Authorization: Digest username=..., nonce=..., nc=..., cnonce=..., response=MD5(...)` that answers that nonce
(mechanize, which calibredb uses, never sends credentials before the challenge).

The API: calibredb's remote mode is RPC over one path per command, `POST /cdb/cmd/{command}/{version}
?library_id=Library`, the command's positional arguments as a MessagePack array in the body (`Content-Type:
application/x-msgpack`; a book to add travels inside it as the file's bytes) and the answer a MessagePack map,
`{"result": ...}` or, for a refusal the command itself makes (an id that is not there, nothing matching a
search), `{"err": "...", "tb": "..."}` answered 200; 403 for a read-only account's write, 401 for a wrong
password. A browser's reads are the JSON AJAX API: `/ajax/library-info`, `/ajax/search`, `/ajax/books`,
`/ajax/book/ID`, `/interface-data/book-metadata/ID`, and a book's files at `/get/FORMAT/ID/Library`.

The session is a librarian's shell script: each `calibredb --with-library URL#Library --username U --password P
ARGS` is one "test" (passed: the exit code it is expected to have; 0, or 1 for a refusal the session provokes
on purpose, or that calibredb makes for commands it does not support remotely), then a few AJAX reads as a
browser sends them (urllib with its Digest handler; passed: the status expected). As the librarian it lists the
empty library, its categories, saved searches and custom columns; adds plain-text books with titles, authors and
tags, EPUBs made by `ebook-convert` (their own metadata), an empty book, a duplicate (refused, then forced); lists
with fields, sort, a search and a limit, as JSON; searches; sets metadata by fields and from an exported OPF, a
custom column's values; adds and removes formats; exports to a folder; saves, lists and removes a saved search;
embeds metadata into a book's files; removes books; provokes refusals (an id that is not there, a search that
matches nothing, full-text search not enabled, commands calibredb refuses remotely); as `reader` lists and is
refused a write (403); with a wrong password is refused (401). Every process started is stopped on the way out,
on failure and on Ctrl-C or SIGTERM too.

Why calibredb: it is calibre's own CLI, versioned with the server in the same package; its remote mode is how a
script manages a library served by calibre-server. Two of its commands fail in calibredb 6.13 itself, directly as
through the recorder, and are expected to: `add_format --dont-replace` of a format the book has (exit 1 by design),
and `list_categories` once a saved search exists (a TypeError in the client after a 200 answer).

First contact (calibre 6.13.0, Debian 6.13.0+repack-2+deb12u10): 64 steps (57 calibredb commands, 7 AJAX reads),
64 / 64 with their expected outcome both directly and through the recorder (the same each); 147 exchanges, 147
recorded, 44 interactions (40 with a provider state). verify with `--states-from-recording` alone: exit 2, 22
secrets asked for, `authorization`, `authorization_2` ... `authorization_71`: one per Digest answer the recording
redacted (nothing secret on disk: the answers are `Digest <redacted>`, the passwords were never sent). No value
given for them can authenticate: a Digest answer is computed from a nonce the fresh server makes; with the Basic
form of the librarian's credentials for each (the harness's answer): 21 / 44 green, and every green one is a 401
challenge (the first request of each command, sent without credentials). Left, by class: every authenticated
request answered 400 (a Digest server refuses Basic; the recorded answers, were they given, are 401: their nonce
is signed with a secret the recording's server drew), 23 (21 answered 200 when recorded, a read-only account's
write 403, an unknown book 404). Hollow besides: calibredb's 16 command interactions carry MessagePack bodies,
kept only as their Content-Type (a server answering every command `{}` verifies as well), and each command's
calls are one interaction (16 `list` calls with different arguments, the first one's bytes sent); the command's
version in the path (`/cdb/cmd/list/0`) is taken for an `{id}`.

Now: a Digest answer is a computed credential, one secret per account (`password` for the librarian,
`password_2` for the reader, each named with its user by verify's refusal), and verify's relay answers each
challenge the fresh server sends with it. verify asks for those two; with them: 39 / 44, nothing secret on disk.
Left, by class: books made by `POST /cdb/cmd/add/0`, whose ids are handed out inside the MessagePack answer
(`{"result": ...}`), which the recorder does not read: the AJAX reads of a book by its id (`/ajax/book/4`,
`/get/EPUB/4`, `/interface-data/book-metadata/1`) and of several (`/ajax/books?ids=`, a search expected to find
one) have no setup that makes the book (`no recorded request makes this`), 5. Still hollow: the MessagePack
answers unchecked, each command's calls pooled. A Digest answer refused when recorded (the wrong password) is sent
with a made-up one at verify time, refused again; here it shares the 401 interaction of the challenges.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGE = "calibre"  # Debian bookworm: 6.13.0
SERVER, CALIBREDB, CONVERT = "calibre-server", "calibredb", "ebook-convert"
CONSUMER, PROVIDER = "calibredb", "calibre-server"
LIBRARY = "Library"  # the folder's name is the library's id
LIBRARIAN = ("librarian", "Sh3lf-Mark!42-pair")
READER = ("reader", "R3ad-0nly#7-pair")
WRONG = "not-the-password-9"
COMMAND_SECONDS = 120
DROP = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """calibre installed (its server never run as a service: the package has none)."""
    if not all(shutil.which(tool) for tool in (SERVER, CALIBREDB, CONVERT)):
        common.apt_install(PACKAGE)


def version() -> str:
    done = subprocess.run([shutil.which(SERVER) or SERVER, "--version"], capture_output=True, text=True)
    m = re.search(r"([\d.]+)\)?\s*$", done.stdout.strip())
    return m.group(1) if m else "?"


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    return env | {"HOME": str(home), "CALIBRE_CONFIG_DIRECTORY": str(home / "config"), "LANG": "C.UTF-8"}


# --- the server --------------------------------------------------------------------------------------


def make_library(work: Path) -> tuple[Path, Path]:
    """An empty library with two custom columns and a user database of two accounts; (library, userdb)."""
    library, users = work / LIBRARY, work / "users.db"
    library.mkdir(parents=True)
    env = clean_env(work)
    steps = [
        [CALIBREDB, "--with-library", str(library), "add_custom_column", "shelf", "Shelf", "text"],
        [CALIBREDB, "--with-library", str(library), "add_custom_column", "pages", "Pages", "int"],
        [SERVER, "--userdb", str(users), "--manage-users", "--", "add", *LIBRARIAN],
        [SERVER, "--userdb", str(users), "--manage-users", "--", "add", *READER, "--readonly"],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"`{' '.join(cmd[:4])} ...` failed:\n{done.stdout}{done.stderr}")
    return library, users


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh content server of its own (library, users, config, port) in `work`; its URL once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    library, users = make_library(work)
    port = free_port()
    cmd = [shutil.which(SERVER) or SERVER, "--listen-on", "127.0.0.1", "--port", str(port), "--enable-auth"]
    cmd += ["--userdb", str(users), "--disable-use-bonjour", "--access-log", str(work / "access.log"), str(library)]
    log = work / "server.log"
    proc = start(stack, cmd, log, cwd=work, env=clean_env(work))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/ajax/library-info", proc, log, ok=(401,))
    return url


# --- the session -------------------------------------------------------------------------------------


def make_books(folder: Path) -> dict[str, Path]:
    """The files the librarian adds: plain text, and EPUBs made from text by ebook-convert."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "night.txt": "Chapter one\n\nIt was a dark and stormy night; the rain fell in torrents.\n",
        "garden.txt": "The garden\n\nRoses climbed the old wall, and the bees were busy all day.\n",
        "ledger.txt": "Ledger\n\nIncome and expenses of the lighthouse, 1887 to 1891.\n",
        "sea.txt": "The sea was calm.\n\nChapter 2\n\nThe ship sailed on toward the islands.\n",
        "hills.txt": "Over the hills\n\nThe road wound up through the heather to the pass.\n",
    }
    files = {}
    for name, text in texts.items():
        (folder / name).write_text(text)
        files[name] = folder / name
    env = clean_env(folder)
    for src, out, meta in (
        ("sea.txt", "sea.epub", ["--title", "Calm Sea", "--authors", "Bo Writer", "--tags", "sea,novel"]),
        ("hills.txt", "hills.epub", ["--title", "Over the Hills", "--authors", "Cy Walker & Di Rambler"]),
    ):
        cmd = [shutil.which(CONVERT) or CONVERT, str(folder / src), str(folder / out), *meta, "--language", "en"]
        done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode or not (folder / out).is_file():
            raise RuntimeError(f"ebook-convert {src} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
        files[out] = folder / out
    return files


class Session:
    """Runs `calibredb --with-library URL#Library` commands and a browser's AJAX reads, each a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.url = url
        self.work = work
        self.log = work / "calibredb.log"
        self.env = clean_env(work)
        self.results: list[dict] = []

    def db(self, *args: str, expect: int = 0, user: tuple[str, str] = LIBRARIAN) -> str:
        """`calibredb --with-library URL#Library --username U --password P ARGS`; its stdout."""
        shown = " ".join(args) + ("" if user == LIBRARIAN else f"  (as {user[0]})")
        cmd = [shutil.which(CALIBREDB) or CALIBREDB, *args, "--with-library", f"{self.url}/#{LIBRARY}"]
        cmd += ["--username", user[0], "--password", user[1]]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ calibredb {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        self.note(shown, code, expect, t, (out + err).decode(errors="replace"))
        return out.decode(errors="replace")

    def note(self, shown: str, code: int, expect: int, t: float, output: str) -> None:
        result = {"command": shown, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = output[-600:]
        self.results.append(result)

    def add(self, *args: str) -> list[str]:
        """`add ARGS`; the ids it printed (as a script would take them)."""
        m = re.search(r"Added book ids: ([\d, ]+)", self.db("add", *args))
        return [i.strip() for i in m.group(1).split(",")] if m else ["999"]

    def browse(self, path: str, expect: int = 200, user: tuple[str, str] = LIBRARIAN) -> bytes:
        """A browser's GET of `path` with Digest credentials (urllib's handler answers the challenge)."""
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, self.url, *user)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        opener.add_handler(urllib.request.HTTPDigestAuthHandler(passwords))
        t = time.monotonic()
        body = b""
        try:
            with opener.open(self.url + path, timeout=COMMAND_SECONDS) as r:
                code, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError as e:
            code, body = -1, str(e).encode()
        with open(self.log, "ab") as log:
            log.write(f"\n$ GET {path}\n".encode() + body[:300] + f"\n(status {code})\n".encode())
        self.note(f"GET {path}", code, expect, t, body[:600].decode(errors="replace"))
        return body

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


def run_session(url: str, work: Path) -> dict:
    """A librarian's session against the content server at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    f = {k: str(v) for k, v in make_books(work / "books").items()}
    exported = work / "exported"
    # what is there
    s.db("list")
    s.db("list_categories")
    s.db("saved_searches", "list")
    s.db("custom_columns", "--details")
    # adding
    (night,) = s.add(f["night.txt"], "-t", "Dark Night", "-a", "Ann Author", "-T", "gothic,night")
    (garden,) = s.add(f["garden.txt"], "-t", "The Garden Wall", "-a", "Ann Author", "-T", "nature", "-l", "eng")
    (ledger,) = s.add(f["ledger.txt"], "-t", "Lighthouse Ledger", "-a", "Keeper Jones", "-s", "Records", "-S", "2")
    (sea,) = s.add(f["sea.epub"])
    (hills,) = s.add(f["hills.epub"], "-T", "walking")
    (empty,) = s.add("--empty", "-t", "Placeholder To Fill", "-a", "Nobody Yet")
    s.db("add", f["night.txt"], "-t", "Dark Night", "-a", "Ann Author")  # a duplicate: refused, exit 0
    (dupe,) = s.add("--duplicates", f["night.txt"], "-t", "Dark Night", "-a", "Ann Author")
    # reading
    s.db("list")
    s.db("list", "-f", "title,authors,tags,series,series_index", "--sort-by", "title", "--ascending")
    s.db("list", "--for-machine", "-f", "title,authors,tags,formats,*shelf,*pages")
    s.db("list", "-s", "author:Ann", "-f", "title,tags", "--limit", "5")
    s.db("search", "author:Writer")
    s.db("search", "tags:gothic or tags:nature")
    s.db("search", "title:nothing-is-called-this", expect=1)
    s.db("show_metadata", sea)
    s.db("show_metadata", "--as-opf", hills)
    # editing
    s.db("set_metadata", night, "-f", "tags:gothic,night,classic", "-f", "series:Stormy Tales", "-f", "series_index:1")
    s.db("set_metadata", garden, "-f", "publisher:Green Press", "-f", "rating:8", "-f", "comments:A quiet book.")
    s.db("set_metadata", empty, "-f", "title:Filled At Last", "-f", "authors:Ann Author & Bo Writer")
    opf = work / "ledger.opf"
    opf.write_text(s.db("show_metadata", "--as-opf", ledger).replace("Keeper Jones", "Keeper M. Jones"))
    s.db("set_metadata", ledger, str(opf))
    s.db("set_custom", "shelf", night, "Attic")
    s.db("set_custom", "pages", night, "212")
    s.db("set_custom", "shelf", sea, "Ground floor")
    s.db("set_custom", "nosuchcolumn", sea, "x", expect=1)
    s.db("list", "--for-machine", "-f", "title,*shelf,*pages,series,publisher,rating")
    # formats
    s.db("add_format", night, f["sea.epub"])
    s.db("add_format", "--dont-replace", night, f["sea.epub"], expect=1)  # already there: kept, exit 1
    s.db("list", "-f", "title,formats", "-s", f"id:{night}")
    s.db("remove_format", night, "EPUB")
    s.db("add_format", ledger, f["ledger.txt"])
    s.db("export", "--to-dir", str(exported), night, sea)
    s.db("export", "--to-dir", str(exported / "flat"), "--single-dir", "--dont-save-cover", "--formats", "epub", hills)
    s.db("embed_metadata", sea)
    # saved searches and categories
    s.db("list_categories", "-r", "tags,authors,#shelf", "-c")
    s.db("saved_searches", "add", "classics", "tags:classic")
    s.db("saved_searches", "add", "attic", "#shelf:Attic")
    s.db("saved_searches", "list")
    s.db("saved_searches", "remove", "attic")
    # a browser's reads
    s.browse("/ajax/library-info")
    s.browse(f"/ajax/search/{LIBRARY}?query=author%3AAnn&sort=title&sort_order=asc&num=10")
    s.browse(f"/ajax/book/{sea}/{LIBRARY}")
    s.browse(f"/ajax/books/{LIBRARY}?ids={night},{garden}")
    s.browse(f"/interface-data/book-metadata/{night}?library_id={LIBRARY}")
    s.browse(f"/get/EPUB/{sea}/{LIBRARY}")
    s.browse(f"/ajax/book/999/{LIBRARY}", expect=404)
    # refusals on purpose
    s.db("show_metadata", "999", expect=1)
    s.db("fts_search", "stormy", expect=1)  # full-text search not enabled
    s.db("check_library", expect=1)  # calibredb refuses it remotely, no request
    s.db("catalog", str(work / "catalog.csv"), expect=1)  # likewise
    # other accounts
    s.db("list", "-f", "title", user=READER)
    s.db("set_metadata", night, "-f", "tags:vandalised", expect=1, user=READER)  # 403
    s.db("list", expect=1, user=(LIBRARIAN[0], WRONG))  # 401
    # tidying up
    s.db("remove", dupe)
    s.db("remove", empty, hills)
    s.db("remove", "999")  # not there: said, exit 0
    s.db("list", "-f", "title,authors,formats")
    s.db("saved_searches", "list")
    s.db("list_categories", "-i", "-r", "tags", expect=1)  # calibredb 6.13 fails on a saved search's category
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the password of the account it names (the
    librarian's where it names none), or the Basic form of the librarian's credentials for a redacted
    `Authorization` (no Digest answer is valid twice)."""
    passwords = dict((LIBRARIAN, READER))
    args = []
    for name, rest in re.findall(r"^\s+([\w.-]+): needed by(.*)$", message, re.M):
        user = m.group(1) if (m := re.search(r"the password of '([^']+)'", rest)) else LIBRARIAN[0]
        value = passwords.get(user, LIBRARIAN[1])
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(":".join(LIBRARIAN).encode()).decode()
        args += ["--secret", f"{name}={value}"]
    return args


def on_disk(paths: list[Path]) -> dict:
    """Which of the session's passwords (or their Basic forms) are in clear in the files written."""
    secrets = {"librarian": LIBRARIAN[1], "reader": READER[1], "wrong": WRONG}
    for user, pw in (LIBRARIAN, READER):
        secrets[f"basic {user}"] = base64.b64encode(f"{user}:{pw}".encode()).decode()
    found = {}
    for path in paths:
        if path.is_file():
            text = path.read_text(errors="replace")
            found[path.name] = sorted(k for k, v in secrets.items() if v in text)
    return found


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_server(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out)
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
    secrets = on_disk([pact, out / f"{CONSUMER}-{PROVIDER}.states.yaml"])
    print(f"secrets on disk: {json.dumps(secrets)}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "calibre": version(),
        "consumer": "calibredb (calibre's own CLI, remote mode) and a browser's AJAX reads",
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_on_disk": secrets,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("calibre", __doc__, phases, sys.argv[1:], setup))
