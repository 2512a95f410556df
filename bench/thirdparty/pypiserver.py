"""Record pypiserver (a private package index) while the real CLIs a developer points at a private index, twine
and pip (and curl for what they do not do), run an operator's session against it, then verify the pact against
a fresh, empty pypiserver.

    .venv/bin/python bench/thirdparty/pypiserver.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
the recording redacted the index account's Basic credentials and nobody gave them), that refusal and its message
are the first figure, and verify runs once more with the least the message asks for: VERIFY_ARGS (everything
after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names,
VALUE the account's password (a redacted `Authorization` as `Basic USER:PASSWORD`), as the operator who wrote the
server's htpasswd file would give it.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/pypiserver/ with pypiserver and passlib (the provider, its
           htpasswd file made with passlib), twine and pip (the consumer), every package pinned.
  direct   a fresh pypiserver and the session below run straight against it (--no-direct leaves this out).
  record   another fresh pypiserver, `pact-recorder record --consumer pip-twine --provider pypiserver` in front
           of it, the same session pointed at the recorder; SIGTERM makes it write OUT/pip-twine-pypiserver.json.
  verify   a third fresh pypiserver (empty: no package), `pact-recorder verify --states-from-recording`; then,
           refused, again on a fresh pypiserver with what it asked for (verify2).
Then it prints the figures (steps whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each pypiserver is `pypi-server run -i 127.0.0.1 -p PORT -P HTPASSWD -a update,download,list --disable-fallback
--backend simple-dir --hash-algo sha256 PACKAGES_DIR` with a new, empty packages dir: every request needs the
account's Basic credentials (401 without, 403 with a wrong password), no redirect to any other index for a
project it does not have (404 instead), no overwrite (a second upload of a file is refused: 409, or 400 when
the User-Agent says twine).

The API: PEP 503's simple index (`/simple/`, `/simple/<name>/`, links to `/packages/<file>#sha256=...`, a 301
to the normalized name), `/packages/` (every file), `/<name>/json` (versions and their URLs), and the legacy
upload API: `POST /` with a multipart form whose `:action` says what (`file_upload` with the file in `content`
and the metadata as fields, as twine sends it; `remove_pkg` with `name` and `version`, which removes every file
of that version; answered an empty 200).

The session is an operator's shell script: each command is one "test" (passed: the exit code it is expected to
have; 0, or the refusal a step provokes on purpose: twine's re-upload of a file the index has (400), a twine
upload with a wrong password (403), `pip download` of a version the index has not (1), curl `-f` of a removed
version, of a wrong password and of the same file posted again by curl (409): 22). Its packages are written
by the harness, byte for byte the same in every phase (fixed mtimes and order, so the index's sha256 links are
the same): `acme-greet` 1.0.0 and 1.1.0 and `acme-tools` 0.1.0 and 0.2.0, each as a wheel and an sdist, and
`acme-extra` 2.0.0 (a wheel); each sdist builds with an in-tree backend of its own (`backend-path`, no
requirement), so pip builds it without any other index. It uploads them with twine (one file, a version's two
files, several at once), reads the index as pip does (`pip index versions`, `pip download` of a wheel, of an
sdist with `--no-binary`, of a pinned version, `pip install --target` of a wheel and of an sdist), reads
`/simple/`, `/simple/<name>/`, `/packages/`, `/<name>/json` and a file with curl (and a non-normalized name,
followed through its 301), provokes the refusals, removes a version with the `remove_pkg` form, and reads the
index again. twine runs with a .pypirc of its own (empty), no keyring and non-interactive; pip with
`--isolated` (no user config, no PIP_* variable), `PIP_CONFIG_FILE=/dev/null`, `--no-cache-dir` and only the
session's index; curl with `-q` (no .curlrc); HOME is the phase's work dir and every *_proxy variable is
dropped. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (pypiserver 2.4.2, twine 7.0.0, pip 26.3, curl): 41 commands, 41 / 41 with their expected exit code
both directly and through the recorder (the same exit code each); 53 exchanges, 52 recorded (the 301 of a
non-normalized name left out as a followed redirect), 27 interactions (every twine upload is one, `POST / returns
200 (form :action, blake2_256_digest, content, ...)`, its example the first upload; every remove another), 6 with
a provider state, none of them about an upload; neither the pact nor the states file holds the password (every
`Authorization` redacted, the wrong password's as a value of its own). verify with `--states-from-recording`
alone: exit 2, `authorization: needed by 28 request(s)` (the account's Basic credentials); with `--secret
authorization=Basic <uploader:password>`: 14 / 27 green. Left, by class: what a multipart/form-data write to one
URL made, named only in its body (`POST /` with `:action=file_upload`, `name`/`version` fields and the file in a
part whose `filename` is the name `/packages/<filename>` serves it by): form values are read from url-encoded
bodies only, so no request value names the file and no read of it gets a state or a setup, and the links to it a
PEP 503 page hands out are in HTML, not read as handed-out values: 10 (the 7 `GET /packages/<file> returns 200`,
`GET /simple/acme-extra/` and `GET /acme-tools/json` 200 -> 404 or missing releases; `GET /simple/acme-greet/
returns 200`'s "what earlier writes changed" replays the last 4 uploads, of acme-tools and acme-extra, the
window leaving out the ones of acme-greet that no write visibly names); refusals decided by whether such a
body-named file exists (twine's re-upload 400, curl's 409, a `remove_pkg` of a removed version 404), for the same
reason stateless, and with no undo of a `POST /` the verify order decides them: the upload interaction's example
(acme_greet 1.0.0's wheel) makes the remove pass, the remove then lets the re-upload in (200), the re-upload the
second remove (200), and the curl upload (200) leaves acme_tools 0.1.0 behind: 3. Some greens are order-made
too (`GET /simple/acme-tools/` finds that file) or hollow: PEP 503 pages and `/packages/` are HTML matched by type,
so the empty index's `/simple/` passes for the full one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PYPISERVER = "2.4.2"
TWINE = "7.0.0"
PIP = "26.3"
PINS = [
    f"pypiserver=={PYPISERVER}", "passlib==1.7.4", f"twine=={TWINE}", f"pip=={PIP}",
    # what they resolve to
    "certifi==2026.10.19.post1", "cffi==2.1.1", "charset-normalizer==3.5.3", "cryptography==51.0.1",
    "defusedxml==0.7.1", "docutils==0.23.1", "id==1.6.1", "idna==3.21", "jaraco.classes==3.4.0",
    "jaraco.context==6.1.2", "jaraco.functools==4.6.0", "jeepney==0.9.0", "keyring==25.7.0",
    "markdown-it-py==4.3.0", "mdurl==0.1.2", "more-itertools==11.2.1", "nh3==0.3.8", "packaging==26.4",
    "pycparser==3.12", "Pygments==2.21.0", "readme_renderer==46.0", "requests==2.34.2",
    "requests-toolbelt==1.0.0", "rfc3986==2.0.0", "rich==15.0.0", "SecretStorage==3.5.0", "urllib3==2.8.0",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "pypiserver"
VENV = HOME / "venv"
BIN = VENV / "bin"
CONSUMER, PROVIDER = "pip-twine", "pypiserver"
USER, PASSWORD = "uploader", "pps-harness-pass-3"  # the htpasswd file's account
COMMAND_SECONDS = 120
EPOCH = 1_700_000_000  # every file's mtime in the archives: the same bytes in every phase


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    ready = all((BIN / tool).is_file() for tool in ("pypi-server", "twine", "pip"))
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and ready:
        return BIN
    print(f"setup: installing {', '.join(PINS[:4])} (and what they need) into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return BIN


# --- pypiserver --------------------------------------------------------------------------------------


def start_pypiserver(stack: ExitStack, work: Path) -> str:
    """A fresh pypiserver (an empty packages dir, an htpasswd file with the one account) on a free port of
    127.0.0.1; its URL once /health answers."""
    work.mkdir(parents=True, exist_ok=True)
    packages = work / "packages"
    shutil.rmtree(packages, ignore_errors=True)
    packages.mkdir()
    htpasswd = work / "htpasswd"
    make = "import sys; from passlib.apache import HtpasswdFile as H; h = H(sys.argv[1], new=True); "
    make += "h.set_password(sys.argv[2], sys.argv[3]); h.save()"
    subprocess.run([str(BIN / "python"), "-c", make, str(htpasswd), USER, PASSWORD], check=True)
    port = free_port()
    cmd = [str(BIN / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "-P", str(htpasswd)]
    cmd += ["-a", "update,download,list", "--disable-fallback", "--backend", "simple-dir"]
    cmd += ["--hash-algo", "sha256", "--server", "wsgiref", str(packages)]
    log = work / "pypiserver.log"
    proc = start(stack, cmd, log, cwd=work, env=clean_env(work))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", proc, log)
    return url


def clean_env(home: Path) -> dict[str, str]:
    """The environment without any pip, twine, keyring or proxy setting of the machine's; HOME is `home`."""
    drop = ("PIP_", "TWINE_", "PYTHON", "VIRTUAL_ENV", "KEYRING", "CURL_", "NETRC")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop) and "proxy" not in k.lower()}
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


# --- the packages ------------------------------------------------------------------------------------

BACKEND = '''"""A build backend of the package's own: its wheel from its `src/` files, nothing to install first."""
import base64, hashlib, os, zipfile

NAME, VERSION = open("NAME").read().split()


def _dist_info():
    meta = f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\nSummary: a harness package\\n"
    wheel = "Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    return {"METADATA": meta, "WHEEL": wheel}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    folder = f"{NAME.replace('-', '_')}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, folder))
    for name, text in _dist_info().items():
        with open(os.path.join(metadata_directory, folder, name), "w") as f:
            f.write(text)
    return folder


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    stem = f"{NAME.replace('-', '_')}-{VERSION}"
    files = {}
    for root, _, names in os.walk("src"):
        for n in sorted(names):
            path = os.path.join(root, n)
            files[os.path.relpath(path, "src")] = open(path, "rb").read()
    for name, text in _dist_info().items():
        files[f"{stem}.dist-info/{name}"] = text.encode()
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}"
              for p, b in files.items()]
    files[f"{stem}.dist-info/RECORD"] = ("\\n".join(record + [f"{stem}.dist-info/RECORD,,"]) + "\\n").encode()
    wheel = f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for p, b in files.items():
            z.writestr(p, b)
    return wheel
'''


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: a harness package\n"


def module(name: str, version: str) -> dict[str, bytes]:
    mod = name.replace("-", "_")
    text = f'"""{name} {version}: written by the pact-recorder harness."""\n\n__version__ = "{version}"\n'
    text += f'\n\ndef hello(who):\n    return f"{name} {version} says hello to {{who}}"\n'
    return {f"{mod}/__init__.py": text.encode()}


def write_wheel(out: Path, name: str, version: str) -> Path:
    """A pure-Python wheel, byte for byte the same every time (fixed dates, fixed order)."""
    stem = f"{name.replace('-', '_')}-{version}"
    files = module(name, version)
    files[f"{stem}.dist-info/METADATA"] = metadata(name, version).encode()
    files[f"{stem}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: harness\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{stem}.dist-info/RECORD"] = ("\n".join([*record, f"{stem}.dist-info/RECORD,,"]) + "\n").encode()
    wheel = out / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2023, 11, 14, 22, 13, 20))
            info.external_attr = 0o644 << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return wheel


def write_sdist(out: Path, name: str, version: str) -> Path:
    """An sdist (PKG-INFO, pyproject.toml with the in-tree backend, src/), byte for byte the same every time."""
    stem = f"{name.replace('-', '_')}-{version}"
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    files = {
        "PKG-INFO": metadata(name, version).encode(),
        "pyproject.toml": pyproject.encode(),
        "NAME": f"{name} {version}\n".encode(),
        "backend.py": BACKEND.encode(),
        **{f"src/{p}": b for p, b in module(name, version).items()},
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{stem}/{path}")
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            tar.addfile(info, io.BytesIO(data))
    sdist = out / f"{stem}.tar.gz"
    with open(sdist, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=EPOCH) as gz:
        gz.write(raw.getvalue())  # gzip with no name and a fixed time
    return sdist


def make_packages(work: Path) -> dict[str, Path]:
    """The session's distributions, in work/dist: {file name: path}."""
    dist = work / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    made = []
    for name, versions in (("acme-greet", ["1.0.0", "1.1.0"]), ("acme-tools", ["0.1.0", "0.2.0"])):
        for version in versions:
            made += [write_wheel(dist, name, version), write_sdist(dist, name, version)]
    made.append(write_wheel(dist, "acme-extra", "2.0.0"))
    return {p.name: p for p in made}


# --- the session -------------------------------------------------------------------------------------


class Session:
    """Runs twine, pip and curl commands against one index URL, each a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.url, self.work = url, work
        self.hostport = url.removeprefix("http://")
        self.log = work / "session.log"
        self.env = clean_env(work) | {
            "PIP_CONFIG_FILE": os.devnull,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "TWINE_NON_INTERACTIVE": "1",
        }
        (work / ".pypirc").write_text("")
        self.results: list[dict] = []

    def index(self, password: str = PASSWORD) -> str:
        return f"http://{USER}:{password}@{self.hostport}/simple/"

    def run(self, argv: list[str], expect: int = 0) -> str:
        """One command; its output. Shown with the password masked."""
        shown = " ".join(argv).replace(PASSWORD, "****").replace(f"{BIN}/", "").replace(f"{self.work}/", "")
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    argv, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
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
        return out.decode(errors="replace")

    def twine(self, *files: Path, password: str = PASSWORD, expect: int = 0) -> str:
        argv = [str(BIN / "twine"), "upload", "--config-file", str(self.work / ".pypirc"), "--non-interactive"]
        argv += ["--disable-progress-bar", "--repository-url", self.url + "/", "-u", USER, "-p", password]
        return self.run([*argv, *(str(f.relative_to(self.work)) for f in files)], expect)

    def pip(self, *args: str, password: str = PASSWORD, expect: int = 0) -> str:
        argv = [str(BIN / "python"), "-m", "pip", *args[:1], "--isolated", "--no-cache-dir"]
        argv += ["--disable-pip-version-check", "--no-input", "--index-url", self.index(password), *args[1:]]
        return self.run(argv, expect)

    def curl(self, *args: str, password: str = PASSWORD, expect: int = 0) -> str:
        argv = ["curl", "-q", "-sS", "-f", "--noproxy", "*", "-u", f"{USER}:{password}", *args]
        return self.run(argv, expect)

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
    """An operator's session against the index at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    d = make_packages(work)
    s = Session(url, work)
    got, site = work / "got", work / "site"
    u = url
    # an empty index
    s.curl(f"{u}/simple/")
    s.pip("index", "versions", "acme-greet", expect=1)  # no such project (404)
    s.curl(f"{u}/simple/", password="wrong-password", expect=22)  # 403
    # uploads: one file, a version's wheel and sdist, several at once
    s.twine(d["acme_greet-1.0.0-py3-none-any.whl"])
    s.twine(d["acme_greet-1.0.0.tar.gz"])
    s.twine(d["acme_greet-1.1.0-py3-none-any.whl"], d["acme_greet-1.1.0.tar.gz"])
    s.twine(*(d[f] for f in sorted(d) if f.startswith("acme_tools")))
    s.twine(d["acme_greet-1.0.0-py3-none-any.whl"], expect=1)  # already there: 400 (409 for others)
    s.twine(d["acme_extra-2.0.0-py3-none-any.whl"], password="wrong-password", expect=1)  # 403
    s.twine(d["acme_extra-2.0.0-py3-none-any.whl"])
    # reading the index as pip does
    s.pip("index", "versions", "acme-greet")
    s.pip("index", "versions", "acme-tools", "--pre")
    s.pip("index", "versions", "Acme_Greet")  # a non-normalized name
    s.pip("download", "--no-deps", "-d", str(got), "acme-greet")
    s.pip("download", "--no-deps", "-d", str(got / "sdist"), "--no-binary", ":all:", "acme-tools")
    s.pip("download", "--no-deps", "-d", str(got / "old"), "acme-greet==1.0.0")
    s.pip("download", "--no-deps", "-d", str(got / "none"), "acme-greet==9.9", expect=1)
    s.pip("install", "--no-deps", "--target", str(site / "wheel"), "acme-tools==0.1.0")
    s.pip("install", "--no-deps", "--target", str(site / "sdist"), "--no-binary", ":all:", "acme-greet==1.1.0")
    s.pip("install", "--no-deps", "--target", str(site / "extra"), "acme-extra")
    s.pip("download", "--no-deps", "-d", str(got / "denied"), "acme-extra", password="wrong-password", expect=1)
    # reading it directly
    s.curl(f"{u}/simple/")
    s.curl(f"{u}/simple/acme-greet/")
    s.curl("-L", f"{u}/simple/Acme.Tools/")  # 301 to /simple/acme-tools/
    s.curl(f"{u}/packages/")
    s.curl(f"{u}/acme-tools/json")
    s.curl("-o", str(got / "direct.whl"), f"{u}/packages/acme_tools-0.2.0-py3-none-any.whl")
    s.curl(f"{u}/packages/acme_tools-9.9.9.tar.gz", expect=22)  # 404
    s.curl(f"{u}/simple/acme-missing/", expect=22)  # 404 (no fallback)
    # the same file posted again by hand: 409 (twine is told 400)
    again = ["-F", ":action=file_upload", "-F", "name=acme-tools", "-F", "version=0.1.0"]
    s.curl(*again, "-F", "content=@dist/acme_tools-0.1.0.tar.gz", f"{u}/", expect=22)
    # removing a version (both its files; `name` as its file names spell it), then one that is not there
    s.curl("-F", ":action=remove_pkg", "-F", "name=acme_greet", "-F", "version=1.0.0", f"{u}/")
    s.curl("-F", ":action=remove_pkg", "-F", "name=acme_greet", "-F", "version=1.0.0", f"{u}/", expect=22)  # 404
    s.curl(f"{u}/packages/acme_greet-1.0.0.tar.gz", expect=22)  # gone
    s.pip("index", "versions", "acme-greet")
    s.curl(f"{u}/simple/acme-greet/")
    s.pip("download", "--no-deps", "-d", str(got / "gone"), "acme-greet==1.0.0", expect=1)
    # a new upload of the removed version is accepted again
    s.twine(d["acme_greet-1.0.0-py3-none-any.whl"])
    s.pip("download", "--no-deps", "-d", str(got / "back"), "acme-greet==1.0.0")
    s.curl("-F", ":action=remove_pkg", "-F", "name=acme_extra", "-F", "version=2.0.0", f"{u}/")
    s.curl(f"{u}/simple/acme-extra/", expect=22)  # 404: no file left
    s.curl(f"{u}/simple/")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the account's password, or its Basic
    credentials for a redacted `Authorization`."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        value = PASSWORD
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        args += ["--secret", f"{name}={value}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_pypiserver(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_pypiserver(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_pypiserver(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_pypiserver(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        shown = " ".join(run["args"]).replace(PASSWORD, "****")
        print(f"verify run {n}: exit {run['exit']}  ({shown})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "pypiserver": PYPISERVER,
        "twine": TWINE,
        "pip": PIP,
        "pins": PINS,
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
    sys.exit(common.main("pypiserver", __doc__, phases, sys.argv[1:], setup))
