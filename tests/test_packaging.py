"""What a user who installed the wheel (no checkout) gets: the mitmdump addon script, found by
`pact-recorder addon`, records, and the review's HTML page renders from the template the wheel carries.
The wheel is built offline from the checkout and installed alone into a clean venv; its dependencies come
from this venv's site-packages (a .pth file), not from an index."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from examples import procs
from examples.users.consumer import exercise
from tests.conftest import CONSUMER, PACT_NAME, PROVIDER, ROOT, mitmdump_args, record_through

SHIPPED = ("pyproject.toml", "README.md", "recorder", "rules", "addons")


def run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def installed_wheel(tmp_path: Path) -> Path:
    """A clean venv with only the wheel built from this checkout installed; its python."""
    src = tmp_path / "src"
    for name in SHIPPED:  # a copy: building writes build/ and *.egg-info beside the sources
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, src / name)
    python = sys.executable
    run(python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src, cwd=src)
    (wheel,) = (tmp_path / "dist").glob("pact_recorder-*.whl")
    venv = tmp_path / "venv"
    run(python, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    venv_python = venv / "bin" / "python"
    run(python, "-m", "pip", "--python", venv_python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    site = Path(run(venv_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")  # mitmproxy and the rest
    return venv_python


def test_an_installed_wheel_finds_and_runs_the_mitmdump_addon(tmp_path, users_provider, mitm_confdir):
    venv_python = installed_wheel(tmp_path)
    work = tmp_path / "work"  # no checkout anywhere near: recorder comes from the wheel or not at all
    work.mkdir()
    script = Path(run(venv_python.parent / "pact-recorder", "addon", cwd=work).strip())
    assert script.is_file() and script.is_relative_to(tmp_path / "venv"), script
    assert script.name == "pact_recorder.py"

    provider = users_provider()
    args = mitmdump_args(provider.url, mitm_confdir, f"pact_consumer={CONSUMER}", f"pact_provider={PROVIDER}",
                         f"pact_out={work / 'pacts'}")  # fmt: skip
    mitmdump = [str(venv_python), "-c", "import sys; from mitmproxy.tools.main import mitmdump; sys.exit(mitmdump())"]
    args = [*mitmdump, "-s", str(script), *args[3:]]  # mitmdump_args: [mitmdump, "-s", the checkout's script, ...]
    record_through(args, exercise, ready=procs.MITMDUMP_LISTENING, cwd=str(work))
    assert (work / "pacts" / PACT_NAME).is_file()
    # The review page's template is package data: the wheel renders it too.
    run(venv_python.parent / "pact-recorder", "review", work / "pacts" / PACT_NAME, "--format", "html",
        "--out", work / "review.html", cwd=work)  # fmt: skip
    assert 'id="download"' in (work / "review.html").read_text()
