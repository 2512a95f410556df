"""`pact-recorder states scaffold`: a Python module of provider-state handlers, one function per state.

The provider team fills in each function so the provider holds the data the state describes (the
recorded data is in the docstring and in DATA); the module then works three ways: in-process with
`pact-recorder verify --states MODULE.py`, with pact-python's `Verifier.state_handler(STATE_HANDLERS)`,
or behind the HTTP state-change endpoint the verifier POSTs to (Flask and FastAPI shown in the module).
"""

from __future__ import annotations

import json
import keyword
import pprint
import re
from pathlib import Path
from typing import Any

from recorder.pact.source import PactSource

SEED_MARKER = "raise NotImplementedError"


def collect_states(pact: dict, hints: dict | None) -> list[dict[str, Any]]:
    """Each state once, in name order: params, the interactions that need it, and its data."""
    states: dict[str, dict[str, Any]] = {}
    for inter in pact.get("interactions", []):
        for st in inter.get("providerStates") or []:
            params = st.get("params") or {}
            entry = states.setdefault(
                st["name"],
                {"name": st["name"], "params": dict(params), "optional": set(), "interactions": [], "data": None},
            )
            # The same state with other params (a later version of the resource): one handler takes both.
            entry["optional"] |= set(entry["params"]) ^ set(params)
            entry["params"] = {**params, **entry["params"]}
            entry["interactions"].append(inter.get("description", "?"))
            response = inter.get("response", {})
            body = response.get("body")
            if body is None or not 200 <= response.get("status", 0) < 300:
                continue
            content = body.get("content") if isinstance(body, dict) and "content" in body else body
            if entry["data"] is None or inter.get("request", {}).get("method") == "GET":
                entry["data"] = content  # a read shows the data best; any success response will do
    for hinted in (hints or {}).get("states", []):
        if hinted.get("name") in states and hinted.get("data") is not None:
            states[hinted["name"]]["data"] = hinted["data"]  # the full recorded response beats the example
    return [states[name] for name in sorted(states)]


def function_name(state: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-zA-Z]+", "_", state).strip("_").lower() or "state"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"state_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def render(pact_path: Path, pact: dict, states: list[dict[str, Any]], recording: dict | None = None) -> str:
    consumer = pact.get("consumer", {}).get("name", "consumer")
    provider = pact.get("provider", {}).get("name", "provider")
    taken: set[str] = {"teardown", "handle"}
    parts = [_HEADER.format(consumer=consumer, provider=provider, pact=pact_path.name)]
    names = []
    # Every state but data that was there before the recording (seed) is made or returned by its setup.
    made = {h["name"] for h in (recording or {}).get("states", []) if "seed" not in h}
    for st in states:
        fn = function_name(st["name"], taken)
        names.append((st["name"], fn))
        parts.append(_function(fn, st, replay=st["name"] in made))
    parts.append(_FOOTER_TEARDOWN if recording is None else _RECORDED_TEARDOWN)
    data = {st["name"]: st["data"] for st in states if st["data"] is not None}
    parts.append(
        "# The data each state needs, as recorded (redacted).\nDATA = "
        + pprint.pformat(data, width=100, sort_dicts=False)
    )
    parts.append("\n\nSTATES = {\n" + "".join(f"    {json.dumps(n)}: {fn},\n" for n, fn in names) + "}\n")
    parts.append(_FOOTER)
    if recording is not None:
        parts.append(_RECORDED.format(recording=pprint.pformat(recording, width=100, sort_dicts=False)))
    return "".join(parts)


def _function(fn: str, st: dict[str, Any], replay: bool = False) -> str:
    params, optional = st["params"], st.get("optional", set())
    usable = all(p.isidentifier() and not keyword.iskeyword(p) for p in params)
    ordered = sorted(params, key=lambda p: p in optional)
    signature = (
        ", ".join(f"{p}: {type(params[p]).__name__}" + (" | None = None" if p in optional else "") for p in ordered)
        if usable
        else "**params"
    )
    needed_by = "".join(f"\n        - {d}" for d in st["interactions"])
    data = f"\n\n    Data the provider must hold: DATA[{json.dumps(st['name'])}]" if st["data"] is not None else ""
    return (
        f"\n\ndef {fn}({signature}) -> None:\n"
        f'    """Provider state {json.dumps(st["name"])} (params {json.dumps(params)}).\n\n'
        f"    Needed by:{needed_by}{data}\n"
        f'    """\n'
        + (_REPLAY if replay else _SEED).format(
            name=json.dumps(st["name"]), seed=json.dumps("seed the data for " + st["name"])
        )
    )


_REPLAY = "    return from_recording({name}, locals())  # the recorded requests (RECORDING)\n"
_SEED = f"    {SEED_MARKER}({{seed}})  # SEED: make the provider hold it\n"


_HEADER = '''"""Provider state handlers for the pact between {consumer} and {provider}.

Generated by `pact-recorder states scaffold` from {pact}.
Replace each line marked SEED so that the provider holds what the state describes (the recorded
data is in DATA), and `teardown` so that it forgets it again. Then any of:

    pact-recorder verify {pact} --provider-url URL --states THIS_FILE.py

    Verifier(...).state_handler(STATE_HANDLERS, teardown=True)          # pact-python, in-process

    # Flask: the HTTP state-change endpoint the Pact verifier POSTs {{"state", "params", "action"}} to
    @app.post("/_pact/provider_states")
    def provider_states():
        body = request.get_json()
        handle(body["state"], body.get("action", "setup"), body.get("params") or {{}})
        return {{}}

    # FastAPI: the same endpoint
    @app.post("/_pact/provider_states")
    def provider_states(body: dict = fastapi.Body(...)):
        handle(body["state"], body.get("action", "setup"), body.get("params") or {{}})
        return {{}}

and point the verifier at it: pact-recorder verify ... --state-url URL/_pact/provider_states
"""

from __future__ import annotations

# SEED: import what the handlers need to reach the provider's data (its database session, its store)
'''

_FOOTER_TEARDOWN = '''

def teardown() -> None:
    """Called after every interaction: forget what the setups created."""
    pass  # SEED: reset the provider's data


'''

_RECORDED_TEARDOWN = '''

def teardown() -> None:
    """Called after every interaction: the next setup first empties the provider (the recording's reset
    request, or deleting what the recording created)."""
    SETUP.change("", {}, "teardown")


'''

_RECORDED = '''

# What the recording did: each state's setup (numbers into "steps", the recorded requests, redacted),
# "reset" (the request that empties the provider, if the recording had one). Edit freely.
RECORDING = {recording}


def from_recording(state: str, params: dict):
    """Send the provider the recorded requests that made `state` (PROVIDER_URL, default
    http://127.0.0.1:8000; secrets from PACT_SECRET_<NAME>); returns the values it generated."""
    return SETUP.change(state, {{k: v for k, v in params.items() if v is not None}}, "setup")


def _setup():
    import os

    from recorder.secrets.fill import Secrets, made_by_recording
    from recorder.verify.recorded_states import RecordedStates, Setup

    recorded = RecordedStates.from_doc(RECORDING)
    secrets = Secrets.from_options({{}}, {{}}, made_by_recording(recorded.in_order))
    return Setup(recorded, os.environ.get("PROVIDER_URL", "http://127.0.0.1:8000"), secrets)


SETUP = _setup()
'''

_FOOTER = '''

def handle(state: str, action: str = "setup", params: dict | None = None):
    """Run the handler of a state ("setup"), or teardown; an unknown state is an error the verifier reports.
    Returns what the handler returned: behind a state-change endpoint, answer it as JSON (the values the
    provider generated, for the pact's ProviderState generators)."""
    if action == "teardown":
        teardown()
        return
    if not state:
        return  # the verifier's call for an interaction that needs no state
    if state not in STATES:
        raise KeyError(f"no handler for provider state {state!r}")
    return STATES[state](**(params or {}))


def _for_verifier(state: str):
    def handler(action: str, parameters: dict) -> None:  # pact-python passes these by name
        handle(state, action, parameters)

    return handler


# The mapping pact-python's Verifier.state_handler takes: state name -> handler(action, parameters).
STATE_HANDLERS = {state: _for_verifier(state) for state in STATES}
'''


def scaffold(pact_path: Path, from_recording: bool = False) -> str:
    """The handler module for a pact; ValueError for a file that is not a pact. `from_recording`: the
    handlers of states the recording made send its recorded requests (editable, in RECORDING)."""
    source = PactSource.read(pact_path)
    pact, hints = source.doc, source.states
    if from_recording and not hints:
        raise ValueError(
            f"--from-recording: {pact_path} carries no states from a recording, nor a states file beside it"
        )
    module = render(pact_path, pact, collect_states(pact, hints), hints if from_recording else None)
    return module
