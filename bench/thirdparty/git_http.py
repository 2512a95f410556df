"""Record git's smart HTTP protocol (`git http-backend` behind a small CGI host with Basic auth) while the real
git CLI clones, fetches and pushes in a developer's session, then verify the pact against the host started empty.

    .venv/bin/python bench/thirdparty/git_http.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else. Where it refuses to start (exit 2: a secret it needs),
that refusal and its message are the first figure; verify then runs once more on a fresh host with VERIFY_ARGS
(everything after `--`) if given, else what it asks for, `--secret authorization=...` with the developer's
credentials (verify2).

What it does, each phase timed:
  setup    nothing to install: git 2.39 from Debian (`git` on PATH, with `git http-backend` in its exec path).
  direct   a fresh host and the session run straight against it (--no-direct leaves this out).
  record   another fresh host, `pact-recorder record --consumer git --provider git-http-backend` in front of it,
           the same session with the remote at the recorder's URL; SIGTERM makes it write the pact.
  verify   a third fresh host, `pact-recorder verify --states-from-recording`; then, refused (or with
           VERIFY_ARGS), again on a fresh one (verify2).
Then it prints the figures and the failures grouped by cause, writes them as JSON to DIR/figures.json, and says
whether the developer's password (or its Basic encoding) is in the pact or its states file.

The provider: `python git_http.py --serve ROOT PORT` (this file): a threaded HTTP/1.1 server on 127.0.0.1 that
answers 401 with a Basic challenge to a request without the developer's credentials (the password from the
environment, never on disk) and runs every other as CGI through `git http-backend` (GIT_PROJECT_ROOT=ROOT,
REMOTE_USER set, so pushes are allowed; chunked request bodies de-chunked, `Content-Encoding: gzip` passed on).
"Empty": ROOT holds one empty bare repository, `project.git` (what a hosting service has once a repository is
made and before anything is pushed); nothing a request can make or delete is there.

The consumer: the real git CLI (protocol v2 for fetches, v0 for pushes, as git 2.39 speaks by default), its
credentials from a credential helper that reads the environment; commits with fixed dates and authors, so every
object id is the same in every run. The session (STEPS): clone the empty repository, commit and push `main`, a
second developer's clone, commits pushed from each side and fetched and pulled by the other, a branch pushed,
listed and deleted, tags (light and annotated) pushed and fetched, a non-fast-forward push refused and then
forced, a shallow clone and its deepening, `ls-remote`, a push with a wrong password refused.

The API: `GET /project.git/info/refs?service=git-upload-pack` (or `git-receive-pack`), answered with a pkt-line
advertisement, then `POST /project.git/git-upload-pack` (protocol v2: `command=ls-refs`, `command=fetch` with
`want`/`have` lines) and `POST /project.git/git-receive-pack` (old and new object ids, a ref name, a packfile),
every body binary pkt-lines (`application/x-git-*-request` / `-result` / `-advertisement`). A fetch's answer is
a packfile of whatever the repository holds: everything depends on what earlier pushes made.

First contact (git 2.39.5 from Debian, both sides): 34 steps, 34/34 the same exit code through the recorder as
directly (32 succeed; the non-fast-forward push and the wrong password fail both ways, as they should); 72
exchanges, all recorded, 4 interactions (0 with a provider state). verify with `--states-from-recording` alone:
exit 2, asking once for `authorization` (the Basic credentials, redacted in all 50 requests that sent them;
neither the password nor its Basic encoding in the pact or the states file). With `--secret
authorization=...`: 4 / 4 green, hollow. The same pact, byte for byte, in two runs. Classes:
  - answers recorded without their content, 3 of 4 interactions: every answer but the 401's is a pkt-line body
    (`application/x-git-upload-pack-advertisement`, `-result`, `x-git-receive-pack-result`), which the recorder
    keeps only as its Content-Type ("only JSON, form and text bodies are inferred"). Nothing the consumer reads
    (the refs and capabilities advertised, the packfile, the push's `ok`/`ng` report) is in the contract: a host
    that advertises no ref at all (GIT_HOST_BREAK=advertise-nothing) or answers every POST with a flush packet
    (GIT_HOST_BREAK=empty-answers, both set in the host's environment) verifies 4 / 4 green (measured), where
    the session's first clone fails on the first and 10 of its 34 steps on the second.
  - operations inside an opaque request body pooled into one interaction: 21 `POST /git-upload-pack` exchanges
    (20 distinct: `command=ls-refs`, fetches with their `want`/`have`/`deepen` lines) are one interaction that
    keeps one example body (an `ls-refs`); 7 `POST /git-receive-pack` (a branch made, updated, refused as
    non-fast-forward, forced, deleted, tags) one that keeps the first push's body (main made from nothing,
    which an empty repository accepts).
  - two operations in one interaction by a query parameter's value: `GET /info/refs?service=git-upload-pack` and
    `?service=git-receive-pack` answer different advertisements under different Content-Types, and are one
    interaction whose `service` matches either value and whose Content-Type matches either type.
  - no provider state: what a fetch reads is what earlier pushes made, but the refs and object ids live only
    in binary pkt-lines, never in a path or a JSON body, so no state is inferred; green only because the
    examples kept need nothing (the first push, an `ls-refs`).
Now 6 / 6, the same exit 2 first: `service` is one of the default rules' operation parameters (as OGC's
`?service=WMS` is), so each service's advertisement, and its 401 challenge, is an interaction of its own whose
Content-Type is its own (tests/test_first_contact.py, Services: a provider that answers one service with the
other's advertisement goes red in that interaction, where it verified green before). Still hollow: the answers'
content is unchecked (both GIT_HOST_BREAK hosts verify 6 / 6), the POSTs pooled, no state.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed, wait_http  # noqa: E402

CONSUMER, PROVIDER = "git", "git-http-backend"
USER = "dev"
PASSWORD = "tr0ub4dor-pair-two"  # the developer's; given to the host and the credential helper by environment
REPO = "project.git"
DATES = "2026-01-0{}T10:00:00+00:00"


# --- the provider ------------------------------------------------------------------------------------


class CgiHost(BaseHTTPRequestHandler):
    """Every request through `git http-backend` as CGI, behind Basic auth."""

    protocol_version = "HTTP/1.1"
    root = ""
    want = ""

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.command} {self.path}\n")

    def body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        data = self.body()
        if self.headers.get("Authorization") != self.want:
            self.answer(401, [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")], b"no\n")
            return
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": self.root, "GIT_HTTP_EXPORT_ALL": "1"}
        env |= {"REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_USER": USER}
        env |= {"REMOTE_ADDR": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"}
        env |= {"CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": self.headers.get("Content-Type", "")}
        for k, v in self.headers.items():
            if k.lower() not in ("authorization", "content-length", "content-type"):
                env["HTTP_" + k.upper().replace("-", "_")] = v
        done = subprocess.run(["git", "http-backend"], input=data, capture_output=True, env=env)
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, body = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        if os.environ.get("GIT_HOST_BREAK") == "advertise-nothing" and "info/refs" in path:
            body = body[: body.find(b"0000") + 4] + b"0000"  # the service line, then no refs at all
        elif os.environ.get("GIT_HOST_BREAK") == "empty-answers" and self.command == "POST":
            body = b"0000"  # a flush packet where the answer was
        self.answer(status, headers, body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = handle_any


def serve(root: str, port: int) -> None:
    CgiHost.root = root
    CgiHost.want = "Basic " + base64.b64encode(f"{USER}:{os.environ['GIT_HOST_PASSWORD']}".encode()).decode()
    ThreadingHTTPServer(("127.0.0.1", port), CgiHost).serve_forever()


def start_host(stack: ExitStack, work: Path) -> str:
    """A fresh host in `work` with one empty bare repository; its URL once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    root = work / "repos"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(root / REPO)], check=True)
    port = free_port()
    log = work / "host.log"
    env = os.environ | {"GIT_HOST_PASSWORD": PASSWORD}
    proc = start(stack, [sys.executable, __file__, "--serve", str(root), str(port)], log, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, log, ok=(401,))
    return url


# --- the consumer ------------------------------------------------------------------------------------


def git_env(home: Path, password: str, day: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HTTP_PROXY", "http_proxy"))}
    date = DATES.format(day)
    env |= {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "NO_PROXY": "*", "GIT_TERMINAL_PROMPT": "0"}
    env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "PAIR_PASSWORD": password}
    return env


HELPER = "!f() { echo username=dev; echo password=$PAIR_PASSWORD; }; f"


def run_session(url: str, work: Path) -> dict:
    """The developer's session against `url`; each step's exit code."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Ada Dev\n\temail = ada@example.org\n[init]\n\tdefaultBranch = main\n"
        '[credential]\n\thelper = "' + HELPER.replace('"', '\\"') + '"\n[advice]\n\tdetachedHead = false\n'
    )
    remote = f"{url}/{REPO}"
    a, b, c = work / "a", work / "b", work / "shallow"
    results = []

    def git(name: str, *args: str, cwd: Path = work, day: int = 1, password: str = PASSWORD) -> int:
        done = subprocess.run(["git", *args], cwd=cwd, env=git_env(home, password, day), capture_output=True)
        results.append({"command": name, "exit": done.returncode})
        (work / "session.log").open("a").write(
            f"$ git {' '.join(args)}  [{done.returncode}]\n{done.stdout.decode()}{done.stderr.decode()}\n"
        )
        return done.returncode

    def write(where: Path, name: str, text: str) -> None:
        (where / name).write_text(text)

    git("clone the empty repository", "clone", remote, str(a))
    write(a, "README.md", "# project\n")
    git("add", "add", "README.md", cwd=a)
    git("commit", "commit", "-q", "-m", "first", cwd=a)
    git("push main", "push", "-u", "origin", "main", cwd=a)
    git("second clone", "clone", remote, str(b), day=2)
    write(b, "b.txt", "from b\n")
    git("add in b", "add", "b.txt", cwd=b)
    git("commit in b", "commit", "-q", "-m", "b's change", cwd=b, day=2)
    git("push from b", "push", cwd=b, day=2)
    git("fetch in a", "fetch", cwd=a, day=3)
    git("pull in a", "pull", "--ff-only", cwd=a, day=3)
    git("branch", "switch", "-c", "feature", cwd=a, day=3)
    write(a, "feature.txt", "feature\n")
    git("add feature", "add", "feature.txt", cwd=a)
    git("commit feature", "commit", "-q", "-m", "feature", cwd=a, day=3)
    git("push branch", "push", "-u", "origin", "feature", cwd=a, day=3)
    git("ls-remote", "ls-remote", remote, cwd=b, day=3)
    git("fetch branch in b", "fetch", "origin", cwd=b, day=4)
    git("tag light", "tag", "v0.1", "main", cwd=a, day=4)
    git("tag annotated", "tag", "-a", "v0.2", "-m", "release 0.2", "feature", cwd=a, day=4)
    git("push tags", "push", "origin", "--tags", cwd=a, day=4)
    git("fetch tags in b", "fetch", "--tags", cwd=b, day=4)
    write(b, "b.txt", "from b, again\n")
    git("commit again in b", "commit", "-q", "-am", "b again", cwd=b, day=5)
    git("push again from b", "push", "origin", "main", cwd=b, day=5)
    git("switch a to main", "switch", "main", cwd=a, day=5)
    write(a, "a.txt", "diverged\n")
    git("add in a", "add", "a.txt", cwd=a)
    git("commit diverged in a", "commit", "-q", "-m", "a diverged", cwd=a, day=5)
    git("push refused (non-fast-forward)", "push", "origin", "main", cwd=a, day=5)
    git("push forced", "push", "--force", "origin", "main", cwd=a, day=5)
    git("fetch forced in b", "fetch", "origin", cwd=b, day=6)
    git("delete branch", "push", "origin", "--delete", "feature", cwd=a, day=6)
    git("fetch prune in b", "fetch", "--prune", "origin", cwd=b, day=6)
    git("shallow clone", "clone", "--depth", "1", remote, str(c), day=6)
    git("deepen", "fetch", "--deepen", "1", cwd=c, day=6)
    git("push with a wrong password (refused)", "push", "origin", "main", cwd=b, day=6, password="wrong")
    git("ls-remote tags", "ls-remote", "--tags", remote, cwd=c, day=6)
    return {"commands": results, "steps": len(results), "passed": sum(r["exit"] == 0 for r in results)}


# --- phases ------------------------------------------------------------------------------------------


def basic() -> str:
    """The developer's credentials as a Basic header carries them (what `--secret authorization=` takes)."""
    return base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def shown(args: list[str]) -> list[str]:
    """Verify's arguments with the credentials left out, for the figures and the terminal."""
    return [a.replace(basic(), "<the developer's credentials>") for a in args]


def secrets_on_disk(out: Path) -> list[str]:
    found = []
    for f in sorted(out.glob("*.json")) + sorted(out.glob("*.yaml")):
        text = f.read_text(errors="replace")
        found += [f"{f.name}: {what}" for what, v in (("password", PASSWORD), ("Basic", basic())) if v in text]
    return found


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_host(stack, work / "direct" / "host")
            direct_run = run_session(url, work / "direct")
    out = work / "record"
    out.mkdir(parents=True, exist_ok=True)
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_host(stack, out / "host")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    on_disk = secrets_on_disk(out)
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_host(stack, work / "verify" / "host")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:
        extra = verify_args or ["--secret", "authorization=" + basic()]
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_host(stack, work / "verify2" / "host")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(shown(run['args']))})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(
            f"transparency: {same['same_exit']}/{same['steps']} steps the same exit code"
            + "".join(f"; {d}" for d in same["differ"])
        )
    print("secrets on disk: " + (", ".join(on_disk) or "none"))
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    for run in runs:
        run["args"] = shown(run["args"])
    return {
        "git": version,
        "verify_args": runs[-1]["args"],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": {"passed": direct_run["passed"], "tests": direct_run["steps"], "skipped": 0, "failing": []}
        if direct_run
        else None,
        "recorded": {"passed": recorded["passed"], "tests": recorded["steps"], "skipped": 0, "failing": []},
        "session": {"direct": direct_run, "recorded": recorded},
        "transparency": same,
        "secrets_on_disk": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(common.main("git_http", __doc__, phases, sys.argv[1:], lambda: None))
