"""Which parts of the responses the consumer's tests need, found by running them against the replay.

Group testing: the suite runs against the replay of the pact with a group of parts withheld (whole
bodies, headers, subtrees of a body; of several interactions at once). Passing, every part of the group
is unused; failing, the group is split in halves, and a single part that fails is tried member by member
below it (`$` fails, `$.items` may not; `$.items` fails, `$.items[*].email` may not). Runs go in
parallel, each on a replay of its own (a free port), all asking one CoreMatcher; each withholds what
earlier runs already found unused plus its group, and when parallel runs found groups separately, one
last run withholds them all together. Bounded by a number of runs and a time budget: what is not decided
by then stays in the contract. The order the parts are tried in comes from `seed`, so a run is
reproducible.

A baseline runs first, twice, with nothing withheld: a suite that fails against its own contract, or
passes and then fails (flaky), cannot tell us anything.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recorder.infer.matchers import child_path
from recorder.pact.core_match import CoreMatcher
from recorder.tools import prune_probe
from recorder.tools.replay import (
    HEADER,
    WHOLE_BODY,
    Replay,
    ReplayServer,
    Tests,
    _content,
    _targets,
    env_name,
    path_steps,
)

Field = tuple[int, str]  # (interaction index, what of its response: `$`, a JSONPath below it, `header:name`)


class SuiteError(ValueError):
    """The suite cannot tell which fields it uses (fails at baseline, flaky, not found)."""


@dataclass
class Run:
    passed: bool
    code: int
    output: str
    tests: Tests = field(default_factory=Tests)

    @property
    def implicated(self) -> set[int] | None:
        """The interactions the failing tests used; None when the run failed and the probe cannot say why."""
        if self.passed:
            return set()
        if not self.tests.failed:
            return None
        return set().union(*(self.tests.by_test.get(t, set()) for t in self.tests.failed))


PROBE_MODULE = "pact_recorder_prune_probe"


@dataclass
class Suite:
    """The consumer's suite (COMMAND), run against a replay: its URL in PACT_RECORDER_URL_<PROVIDER> and
    in the variables `env` names, as a recording run would set them. `probe`: a folder holding
    recorder.tools.prune_probe as PROBE_MODULE, loaded into a pytest suite (see `with_probe`)."""

    command: list[str]
    interactions: list[dict]
    matcher: CoreMatcher
    provider: str
    env: list[str] = field(default_factory=list)
    timeout: float = 600
    probe: Path | None = None

    def run(self, withheld: set[Field]) -> Run:
        by_interaction: dict[int, frozenset[str]] = {}
        for n, path in withheld:
            by_interaction[n] = by_interaction.get(n, frozenset()) | {path}
        replay = Replay(self.interactions, self.matcher, by_interaction)
        with ReplayServer(replay) as server:
            variables = {env_name(self.provider): server.url, **{v: server.url for v in self.env}}
            try:
                done = subprocess.run(
                    self.command,
                    env={**os.environ, **variables, **self._probe_variables(server.url)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    timeout=self.timeout,
                )
            except FileNotFoundError:
                raise SuiteError(f"command {self.command[0]!r} not found (not on PATH, no such file)") from None
            except PermissionError:
                raise SuiteError(f"command {self.command[0]!r} cannot be run (not executable)") from None
            except subprocess.TimeoutExpired:
                return Run(False, -1, f"timed out after {self.timeout:.0f}s")
        return Run(done.returncode == 0, done.returncode, done.stdout, replay.tests)

    def _probe_variables(self, url: str) -> dict[str, str]:
        if self.probe is None:
            return {}
        plugins = ",".join(p for p in (os.environ.get("PYTEST_PLUGINS"), PROBE_MODULE) if p)
        path = os.pathsep.join(p for p in (str(self.probe), os.environ.get("PYTHONPATH")) if p)
        return {"PYTEST_PLUGINS": plugins, "PYTHONPATH": path, "PACT_RECORDER_PROBE_URL": url}


@contextmanager
def with_probe(suite: Suite) -> Iterator[Suite]:
    """The suite with the probe at hand while the block runs (a temporary folder of its own)."""
    with tempfile.TemporaryDirectory(prefix="pact-recorder-probe-") as folder:
        shutil.copy(Path(prune_probe.__file__), Path(folder) / f"{PROBE_MODULE}.py")
        suite.probe = Path(folder)
        try:
            yield suite
        finally:
            suite.probe = None


@dataclass
class Outcome:
    pruned: list[Field]
    kept: list[Field]
    undecided: list[Field]
    runs: int
    seconds: float


def baseline(suite: Suite) -> int:
    """Two runs with nothing withheld, one after the other; SuiteError unless both pass. The probe stays only
    where it tells the tests apart: a suite that fails with it (its Python cannot load it) and passes
    without, or that is no pytest suite, runs without it. The runs made."""
    runs = 0
    for attempt in (1, 2):
        run = suite.run(set())
        runs += 1
        if not run.passed and suite.probe is not None and attempt == 1:
            suite.probe = None
            run = suite.run(set())
            runs += 1
        elif suite.probe is not None and not run.tests.by_test:
            suite.probe = None
        if not run.passed:
            tail = "\n".join(run.output.rstrip().splitlines()[-15:]) or "(it printed nothing)"
            if attempt == 1:
                raise SuiteError(
                    f"the suite fails against the replay of its own pact with nothing withheld (exit {run.code}), "
                    f"so it cannot say which fields it uses; make it pass first (`pact-recorder replay PACT`, "
                    f"then run it by hand). Its last lines:\n{tail}"
                )
            raise SuiteError(
                f"the suite is flaky: it passed, then failed with nothing withheld (exit {run.code}); prune needs a "
                f"suite that gives the same answer every time. Its last lines:\n{tail}"
            )
    return runs


def response_fields(interactions: list[dict]) -> list[Field]:
    """What each interaction's response holds that a consumer may ignore: the top-level members of a JSON
    body (of every element, for an array), a body without members as a whole (`$`: text, XML, `{}`), and
    each header but Content-Type (`header:name`). A body whose members all go is tried whole afterwards."""
    out = []
    for n, interaction in enumerate(interactions):
        response = interaction["response"]
        content = _content(response)[0]
        out += [(n, path) for path in members(content, WHOLE_BODY)] or (
            [(n, WHOLE_BODY)] if content not in (None, "", b"") else []
        )
        names = {k.lower() for k in response.get("headers") or {}} - {"content-type"}
        out += [(n, HEADER + name) for name in sorted(names)]
    return out


def emptied(interactions: list[dict], pruned: list[Field]) -> list[Field]:
    """The whole bodies whose every member was found unused: the body itself may go (with its Content-Type)."""
    gone = set(pruned)
    return [
        (n, WHOLE_BODY)
        for n, interaction in enumerate(interactions)
        if (tops := members(_content(interaction["response"])[0], WHOLE_BODY))
        and all((n, path) in gone for path in tops)
        and (n, WHOLE_BODY) not in gone
    ]


def members(value: Any, path: str) -> list[str]:
    """JSONPaths of the members below `path`'s value: `$.a.b` of an object, `$.a[*].b` of a list of objects."""
    if isinstance(value, dict):
        return [p for k in value if (p := child_path(path, k)) is not None]
    if isinstance(value, list):
        keys = dict.fromkeys(k for item in value if isinstance(item, dict) for k in item)
        return [p for k in keys if (p := child_path(f"{path}[*]", k)) is not None]
    return []


def children(interactions: list[dict], f: Field) -> list[Field]:
    if f[1].startswith(HEADER) or f[1] == WHOLE_BODY:
        return []
    content = _content(interactions[f[0]]["response"])[0]
    values = [container[key] for container, key in _targets(content, path_steps(f[1]))]
    found = dict.fromkeys(p for v in values for p in members(v, f[1]))
    return [(f[0], p) for p in found]


def prune(
    suite: Suite,
    jobs: int = 2,
    max_runs: int = 200,
    time_budget: float = 600,
    seed: int = 0,
    progress: Callable[[int, int, int], object] = lambda runs, decided, total: None,
) -> Outcome:
    """Group testing over the parts of the responses (after `baseline`); progress(runs, decided, total).

    With the probe in the suite, each interaction has its own groups, and every run withholds one group of
    each: a failing run implicates only the interactions its failing tests used, so every interaction's
    search advances in every run. Without it, the groups span interactions and a failing run implicates
    all of them. Either way a last run withholds everything found unused together; if the suite fails it,
    the search starts again without the probe's help (a test that read what another one requested)."""
    started = time.monotonic()
    attributed = suite.probe is not None
    outcome = _search(suite, jobs, max_runs, time_budget - (time.monotonic() - started), seed, progress, attributed)
    if outcome.pruned and not suite.run(set(outcome.pruned)).passed:
        if not attributed:
            raise SuiteError(
                f"the suite passed without each of {len(outcome.pruned)} field group(s) separately but failed without "
                "all of them together; run prune with --jobs 1 (each run then builds on the last)"
            )
        left = time_budget - (time.monotonic() - started)
        again = _search(suite, jobs, max_runs - outcome.runs - 1, left, seed, progress, False)
        if again.pruned and not suite.run(set(again.pruned)).passed:
            raise SuiteError("the suite passed without each group of fields but failed without all of them together")
        outcome = replace(again, runs=outcome.runs + 1 + again.runs + 1)
    else:
        outcome = replace(outcome, runs=outcome.runs + (1 if outcome.pruned else 0))
    return replace(outcome, seconds=time.monotonic() - started)


def _search(suite, jobs, max_runs, time_budget, seed, progress, attributed) -> Outcome:
    started = time.monotonic()
    rng = random.Random(seed)
    top = response_fields(suite.interactions)
    rng.shuffle(top)
    queues: dict[int, deque[tuple[Field, ...]]] = {}

    def enqueue(fields: list[Field]) -> None:
        """One group per interaction (one over all of them without the probe)."""
        for key, group in _by(fields, attributed).items():
            queues.setdefault(key, deque()).append(tuple(group))

    enqueue(top)
    pruned: list[Field] = []
    kept: list[Field] = []
    runs, total = 0, len(top)

    def split(key: int, group: tuple[Field, ...]) -> None:
        nonlocal total
        if len(group) > 1:
            queues[key].extend((group[: len(group) // 2], group[len(group) // 2 :]))
            return
        kept.append(group[0])
        below = children(suite.interactions, group[0])
        rng.shuffle(below)
        total += len(below)
        if below:
            queues[key].append(tuple(below))

    wholes_tried = False
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        while runs < max_runs and time.monotonic() - started < time_budget:
            if not any(queues.values()) and not wholes_tried:
                wholes_tried = True
                wholes = emptied(suite.interactions, pruned)
                enqueue(wholes)
                total += len(wholes)
            if not any(queues.values()):
                break
            # Each run takes the next group of every queue: runs side by side test other groups.
            width = min(max(1, jobs), max_runs - runs, max(len(q) for q in queues.values()))
            taken = {key: [q.popleft() for _ in range(min(width, len(q)))] for key, q in queues.items()}
            plans = [{key: groups[j] for key, groups in taken.items() if len(groups) > j} for j in range(width)]
            base = set(pruned)
            withheld = [base | {f for group in plan.values() for f in group} for plan in plans]
            results = list(pool.map(suite.run, withheld))
            for plan, result in zip(plans, results, strict=True):
                runs += 1
                blamed = result.implicated
                for key, group in plan.items():
                    if result.passed or (attributed and blamed is not None and key not in blamed):
                        pruned.extend(group)
                    else:
                        split(key, group)
            progress(runs, len(pruned) + len(kept), total)
    undecided = [f for q in queues.values() for group in q for f in group]
    return Outcome(sorted(pruned), sorted(kept), sorted(undecided), runs, time.monotonic() - started)


def _by(fields: list[Field], attributed: bool) -> dict[int, list[Field]]:
    out: dict[int, list[Field]] = {}
    for f in fields:
        out.setdefault(f[0] if attributed else 0, []).append(f)
    return out


def _said(path: str) -> str:
    if path == WHOLE_BODY:
        return "the whole body (and its Content-Type)"
    return f"header {path.removeprefix(HEADER)}" if path.startswith(HEADER) else path


def prune_file(
    pact: Path,
    command: list[str],
    env: list[str],
    out: Path,
    jobs: int = 2,
    max_runs: int = 200,
    time_budget: float = 600,
    seed: int = 0,
) -> list[str]:
    """Prune `pact` with the suite `command`, write the pruned pact to `out` and its rule file beside
    it, and say what was done (lines). SuiteError when the suite cannot tell; ValueError for a file
    that is no pact. One flow for `pact-recorder prune` and the plugin's `--pact-prune`."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from recorder.files import load_pact, write_atomic
    from recorder.pact.document import dumps
    from recorder.tools import pruned_pact
    from recorder.tools.replay import http_interactions

    doc = load_pact(pact)
    rules_out = out.with_name(out.name.removesuffix(".json") + ".prune.yaml")
    interactions = http_interactions(doc)
    columns = (
        TextColumn("pruning: {task.fields[runs]} runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("parts decided"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    shown = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    suite = Suite(command, interactions, None, doc["provider"]["name"], env)
    with CoreMatcher(interactions) as suite.matcher, with_probe(suite), shown as bar:
        task = bar.add_task("prune", total=None, runs=0)
        started = time.monotonic()
        base = baseline(suite)
        told_apart = suite.probe is not None
        result = prune(
            suite, jobs, max_runs - base, time_budget, seed,
            lambda runs, decided, total: bar.update(task, completed=decided, total=total, runs=base + runs),
        )  # fmt: skip
    runs = base + result.runs
    write_atomic(out, dumps(pruned_pact.without(doc, result.pruned, runs)))
    write_atomic(rules_out, pruned_pact.rules(doc, result.pruned, result.kept))
    whole = {n for n, path in result.pruned if path == WHOLE_BODY}
    shown = [(n, path) for n, path in result.pruned if n not in whole or not path.startswith(("$.", "$["))]
    return [
        f"{len(shown)} part(s) of the responses not used by the consumer's tests, left out; {len(result.kept)} used; "
        f"{len(result.undecided)} undecided (kept). {runs} runs in {time.monotonic() - started:.1f}s"
        + (" (the suite's tests told apart: each run tried a group of every interaction)." if told_apart else "."),
        *(f"  - {interactions[n]['description']}: {_said(path)}" for n, path in shown),
        f"Wrote {out}",
        f"Wrote {rules_out} (infer --rules {rules_out} makes the same choice)",
    ]
