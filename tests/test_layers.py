"""The layout shows the design: the pipeline's stages import only from the layers below them
(pyproject.toml's import-linter contract), and no module imports itself back through others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_stage_imports_only_from_the_layers_below_it():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.unit
def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph("recorder", cache_dir=None)
    circles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if module in graph.find_upstream_modules(imported)
    ]
    assert circles == []
