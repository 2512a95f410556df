"""Run the Pact core's verifier (pact-python's Verifier, in-process) and summarise what it found."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recorder.pact.core_verifier import LocalServer, Publish, output_parked, verdict, verifier
from recorder.pact.document import carried_evidence, reached_at
from recorder.pact.source import PactSource
from recorder.secrets.fill import Secrets, fill_request, held_before, option, where
from recorder.secrets.signing import SCHEMES, digest, scheme, signed
from recorder.verify import provider_relay
from recorder.verify.recorded_states import Setup, redacted_body_keys, words_and_names
from recorder.verify.relay import Relay

STATE_FAILED = "One or more of the setup state change handlers has failed"
_KINDS = {
    "BodyMismatch": "body",
    "HeaderMismatch": "header",
    "StatusMismatch": "status",
    "QueryMismatch": "query",
    "PathMismatch": "path",
    "MethodMismatch": "method",
}


@dataclass
class InteractionOutcome:
    description: str
    ok: bool
    states: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    state_failed: bool = False
    mismatches: list[dict] = field(default_factory=list)  # as the core reported them, for --report


@dataclass
class Verification:
    ok: bool
    outcomes: list[InteractionOutcome]
    errors: list[str]  # problems not tied to one interaction (a pact that would not load)
    notes: list[str] = field(default_factory=list)  # what went wrong between interactions (a failed reset)

    def report(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "interactions": [asdict(o) for o in self.outcomes],
            "errors": self.errors,
            "notes": self.notes,
        }


def verify(
    pact: PactSource | Path,
    provider_url: str,
    state_url: str | None = None,
    states: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    setup: Setup | None = None,
    secrets: Secrets | None = None,
    publish: Publish | None = None,
) -> Verification:
    """Verify a pact file against a running provider. Raises ValueError for unusable input.

    Provider states come from the provider's own endpoint (`state_url`), from a mapping of state
    name -> handler(action, parameters) run in this process (`states`), or from the recording (`setup`,
    on a state-change URL of our own). Redacted request values are filled from `secrets` (and a
    `headers` entry fills a redacted header of that name); other `headers` are sent with every request.
    `publish`: the results go to the broker the pact came from (its links say where)."""
    source = pact if isinstance(pact, PactSource) else PactSource.read(pact)
    doc = source.doc
    if states is not None and (missing := sorted(pact_states(doc) - set(states))):
        raise ValueError(
            f"--states: no handler for {len(missing)} provider state(s) the pact needs: "
            + ", ".join(repr(m) for m in missing)
            + " (add them to STATE_HANDLERS; `pact-recorder states scaffold PACT` writes one per state)"
        )
    headers = dict(headers or {})
    secrets = secrets or Secrets.from_options({}, headers, set())
    filled = fill_pact(doc, secrets)
    custom = {k: v for k, v in headers.items() if k.lower() not in redacted_headers(doc)}
    calls = setup if setup is not None else Relay(state_url) if state_url else None
    with ExitStack() as stack:
        if setup is not None:  # user:token credentials rebuilt around the tokens the setups fetch afresh
            setup.rebuilt = [e for es in secret_entries(doc).values() for e in es if e.get("issued")]
        signing = signed_entries(doc, setup)
        echoed = provider_relay.echoed_headers(doc.get("interactions", []))
        reached = reached_at(doc)
        rebinds = setup is not None and provider_relay.xml_with_states(doc.get("interactions", []))
        if provider_relay.needed(signing, echoed, reached, rebinds):  # the verifier and the setups send to it
            rebound = setup.rebound if rebinds else None
            relay = provider_relay.ProviderRelay(provider_url, signing, secrets.given, echoed, reached, rebound)
            provider_url = stack.enter_context(relay).url
            if setup is not None:
                setup.provider_url = provider_url
        local = stack.enter_context(LocalServer(filled, source.links if publish is not None else None, calls))
        state_url = local.state_url if calls is not None else None
        given = bool(headers or secrets.given)
        where = local.url if publish is not None else local.pact_url
        result = _run(doc, where, provider_url, state_url, states, custom, given, secret_entries(doc), publish)
        if setup is not None:
            setup.finish()
    result.notes += unrecorded_bodies(doc)
    if setup is not None:
        result.notes += list(setup.problems.values())
    return _summarise_states(result, calls.calls.groups) if calls is not None else result


def unrecorded_bodies(doc: dict) -> list[str]:
    """Interactions whose request body went past the recorder unrecorded (over --max-body): said, since the
    verifier sends them with none."""
    return [
        f"{i.get('description')!r}: its request body was larger than --max-body when recorded and is not in the "
        "pact, so the verifier sent none (record again with a larger --max-body)"
        for i in doc.get("interactions", [])
        if "body" not in (i.get("request") or {})
        and any("request body streamed through unrecorded" in t for t in (i.get("comments") or {}).get("text", []))
    ]


def signed_entries(doc: dict, setup: Setup | None) -> dict[str, dict]:
    """The signing keys the interactions and the setups' steps need, each by its secret's name."""
    entries = [e for es in secret_entries(doc).values() for e in es]
    entries += [e for step in (setup.recorded.steps.values() if setup else ()) for e in step.get("secrets", [])]
    return {e["secret"]: e for e in entries if signed(e)}


def pact_states(doc: dict) -> set[str]:
    return {st.get("name", "") for i in doc.get("interactions", []) for st in i.get("providerStates") or []}


def secret_entries(doc: dict) -> dict[str, list[dict]]:
    """Where each interaction's request had redacted values (by description)."""
    return {d: e["secrets"] for d, e in carried_evidence(doc).items() if e.get("secrets")}


def needed_secrets(doc: dict, recorded: Any, secrets: Secrets) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """The secrets the setups and the interactions need that have no value yet, each with where it is needed,
    and the signing keys among them by name (`secrets.made` learns what any value will do for)."""
    secrets.made = (secrets.made | made_in_pact(doc) - held_before(recorded.in_order)) - presented_in_pact(doc)
    needed: dict[str, list[str]] = {}
    keys: dict[str, dict] = {}  # signing keys by name: the scheme's environment gives them too
    sources = [(repr(d), es) for d, es in secret_entries(doc).items()]
    sources += [(f"setup step {n}", step.get("secrets", [])) for n, step in sorted(recorded.steps.items())]
    for where_, entries in sources:
        keys |= {e["secret"]: e for e in entries if signed(e)}
        for name in secrets.missing(entries):
            needed.setdefault(name, []).append(where_)
    return needed, {name: keys[name] for name in needed if name in keys}


def check_secrets(doc: dict, recorded: Any, secrets: Secrets) -> None:
    """Every secret the setups and the interactions need must have a value before a request is sent."""
    needed, keys = needed_secrets(doc, recorded, secrets)
    if needed:
        env = {name: scheme(e).environment for name, e in keys.items()}
        lines = [
            f"  {name}: needed by {len(where)} request(s), e.g. {where[0]}; pass --secret {name}=VALUE "
            + (
                f"(or PACT_SECRET_{name.upper()}): the password of {keys[name].get('key_id')!r}, with which each "
                "request answers the provider's Digest challenge afresh"
                if name in keys and digest(keys[name])
                else f"(or {env[name]['secret']} and {env[name]['key_id']} in "
                "the environment): the key they are signed with, signed afresh for each request"
                if name in keys
                else f"(or PACT_SECRET_{name.upper()})"
            )
            for name, where in sorted(needed.items())
        ]
        raise ValueError("the recording redacted values these requests need:\n" + "\n".join(lines))


def accounts(doc: dict, recorded: Any) -> dict[str, list[dict]]:
    """Users whose credentials the recording rebuilt (Basic from a password it set, `user:token` around a
    token a login handed out): user -> those entries, last first."""
    entries = [e for es in secret_entries(doc).values() for e in es]
    entries += [e for step in recorded.steps.values() for e in step.get("secrets", [])]
    found: dict[str, list[dict]] = {}
    for e in reversed(entries):
        if e.get("user") and e not in found.setdefault(e["user"], []):
            found[e["user"]].append(e)
    return found


def pact_requests(doc: dict) -> list[dict]:
    """Each interaction's request written as a setup step is (method, path, query and headers as pairs, its
    response's status, its body as `json` or `text`), so one reading serves both."""
    out = []
    evidence = carried_evidence(doc)
    for i in doc.get("interactions", []):
        request = i.get("request") or {}
        found = evidence.get(i.get("description", ""), {})
        body = request.get("body")
        content = body.get("content") if isinstance(body, dict) and "content" in body else body
        out.append(
            {
                "method": request.get("method"),
                "path": request.get("path", ""),
                "query": [(k, v) for k, vs in (request.get("query") or {}).items() for v in _listed(vs)],
                "headers": [(k, ", ".join(_listed(v))) for k, v in (request.get("headers") or {}).items()],
                "status": (i.get("response") or {}).get("status", 0),
                **({"json": content} if isinstance(content, (dict, list)) else {}),
                **({"text": content} if isinstance(content, str) else {}),
                **({"as": found["as"]} if isinstance(found.get("as"), str) else {}),  # a POST that tunnelled it
                **({"secrets": found["secrets"]} if found.get("secrets") else {}),
            }
        )
    return out


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def recorded_words(requests: list[dict], recorded: Any) -> tuple[set[str], set[str]]:
    """What the recording's requests (the pact's, see pact_requests, and the setup steps) show are the
    protocol's own words, and which values they use as names (see words_and_names)."""
    return words_and_names([*requests, *recorded.steps.values()])


_SIGNED_AFRESH = frozenset().union(*(s.signer_headers for s in SCHEMES.values()))  # (Authorization too)


def recorded_deletes(requests: list[dict]) -> dict[str, tuple[list, list]]:
    """How the consumer deleted things: path -> (query, headers) of each DELETE among the pact's requests (see
    pact_requests) answered 2xx, without its credentials (the undo sends those of what made the thing)."""
    out: dict[str, tuple[list, list]] = {}
    dropped = _SIGNED_AFRESH | {"cookie"}
    for r in requests:
        if r["method"] == "DELETE" and 200 <= r["status"] < 300:
            headers = [(k, v) for k, v in r["headers"] if k.lower() not in dropped and not k.lower().startswith("if-")]
            out.setdefault(r["path"].rstrip("/"), (r["query"], headers))
    return out


def tunnelled_deletes(requests: list[dict]) -> dict[str, dict]:
    """How the consumer deleted things where it tunnelled DELETE through a POST (`_method: "DELETE"` in the body,
    `X-HTTP-Method-Override: DELETE`): path -> that request (see pact_requests) answered 2xx, without its
    credentials (headers, and body fields the recording redacted): the undo sends those of what made the thing."""
    out: dict[str, dict] = {}
    dropped = _SIGNED_AFRESH | {"cookie"}
    for r in requests:
        if r.get("as") == "DELETE" and 200 <= r["status"] < 300:
            hidden = redacted_body_keys(r)
            way = {k: r[k] for k in ("method", "query") if k in r}
            way["headers"] = [(k, v) for k, v in r["headers"] if k.lower() not in dropped | {"content-length"}]
            if isinstance(r.get("json"), dict):
                way["json"] = {k: v for k, v in r["json"].items() if k not in hidden}
            elif "text" in r:
                way["text"] = r["text"]
            out.setdefault(r["path"].rstrip("/"), way)
    return out


def made_in_pact(doc: dict) -> set[str]:
    """Secrets any value will do for: sent as data by a request that wrote it (a PUT or PATCH, a POST that
    created something: the recording set them, like an account's password or a webhook's secret; or a create
    refused as a conflict), or sent only by requests the provider refused (401, 403). A POST that did not
    create (a login) needs the real one; check_secrets leaves out what `presented_in_pact` finds."""
    made, refused, accepted = set(), set(), set()
    entries = secret_entries(doc)
    for i in doc.get("interactions", []):
        status = (i.get("response") or {}).get("status")
        writes = _writes(i.get("request") or {}, status)
        for e in entries.get(i.get("description", ""), []):
            if e.get("in") in ("body", "form", "multipart") and writes:
                made.add(e["secret"])
            (refused if status in (401, 403) else accepted).add(e["secret"])
    return made | (refused - accepted)


def presented_in_pact(doc: dict) -> set[str]:
    """Keys and tokens (not passwords) that requests which wrote nothing sent as data and the provider
    accepted: credentials it held before the recording (an app's master key in the body of every call a
    browser SDK makes), needed for real even where a write sent them first."""
    entries = secret_entries(doc)
    return {
        e["secret"]
        for i in doc.get("interactions", [])
        if 200 <= ((i.get("response") or {}).get("status") or 0) < 300
        and not _writes(i.get("request") or {}, (i.get("response") or {}).get("status"))
        for e in entries.get(i.get("description", ""), [])
        if e.get("in") in ("body", "form", "multipart") and not _names_a_password(e)
    }


def _writes(request: dict, status: int | None) -> bool:
    return request.get("method") in ("PUT", "PATCH") and 200 <= (status or 0) < 300 or status in (201, 409)


def _names_a_password(entry: dict) -> bool:
    """Is the field a password (a write sets it, a login presents it again), not a key or a token?"""
    key = entry.get("key")
    field = str(key[-1] if isinstance(key, list) and key else key or entry.get("secret", ""))
    return bool(_PASSWORD_FIELD.search(re.sub(r"[-_]", "", field.lower())))


_PASSWORD_FIELD = re.compile(r"(password|passwd|pwd|passphrase)$")


def redacted_headers(doc: dict) -> set[str]:
    return {str(e["key"]).lower() for es in secret_entries(doc).values() for e in es if e.get("in") == "header"}


def fill_pact(doc: dict, secrets: Secrets) -> dict:
    """A copy of the pact with the secrets that can be filled put back (in memory only)."""
    entries = secret_entries(doc)
    out = copy.deepcopy(doc)
    for i in out.get("interactions", []):
        if (found := entries.get(i.get("description", ""))) and isinstance(i.get("request"), dict):
            fill_request(i["request"], found, secrets)
    return out


def _run(doc, source, provider_url, state_url, states, headers, credentials_given, redacted, publish) -> Verification:
    core = verifier(doc.get("provider", {}).get("name", "provider"), provider_url, source, publish)
    failures: dict[str, str] = {}
    if state_url:
        core.state_handler(state_url, teardown=True, body=True)
    elif states is not None:
        core.state_handler(_guarded(states, failures), teardown=True)
    if headers:
        core.add_custom_headers(dict(headers))
    with output_parked():
        found = verdict(core)
    result = _summarise(found, failures, credentials_given, redacted)
    if publish is not None:
        if found["unpublished"]:
            result.ok = False
            result.errors += [f"the results were NOT published: {m}" for m in found["unpublished"]]
        else:
            branch = f" on branch {publish.branch}" if publish.branch else ""
            result.notes.append(f"the results were published as provider version {publish.version}{branch}")
    return result


def _guarded(states: Mapping[str, Any], failures: dict[str, str]) -> dict[str, Any]:
    """State handlers that never fail towards the verifier: a handler that raised would make the core
    retry the state change for about two minutes. The failure is kept and reported per interaction."""

    def guard(name: str, handler: Any):
        wanted = set(inspect.signature(handler).parameters)

        def guarded(action: str, parameters: dict) -> None:  # pact-python passes these by name
            given = {"state": name, "action": action, "parameters": parameters}
            try:
                handler(**{k: v for k, v in given.items() if k in wanted})
            except Exception as e:  # the user's handler: report it, keep verifying
                failures.setdefault(name, f"{type(e).__name__}: {e}")

        return guarded

    return {name: guard(name, handler) for name, handler in states.items()}


def load_state_module(path: Path) -> Any:
    """A state-handler module (as `states scaffold` writes it); ValueError when it cannot be used."""
    if not path.is_file():
        raise ValueError(f"--states {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"pact_states_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's module: say where it failed, not a traceback of ours
        raise ValueError(f"--states {path}: the module failed to load: {type(e).__name__}: {e}") from None
    handlers = getattr(module, "STATE_HANDLERS", None)
    if not isinstance(handlers, Mapping):
        raise ValueError(
            f"--states {path}: expected a STATE_HANDLERS mapping (state name -> handler), "
            "as `pact-recorder states scaffold` writes"
        )
    return module


def _summarise_states(v: Verification, groups: list[tuple[list[str], dict[str, str]]]) -> Verification:
    """Failures of setups from the recording, reported with the interaction they were made for (the
    verifier sets up interactions with states in the order it reports them; it calls the state URL for
    the others too, with no state: those calls are no interaction's setup)."""
    calls = iter(group for group in groups if group[0])
    for o in v.outcomes:
        if not o.states:
            continue
        names, failures = next(calls, ([], {}))
        if names != o.states:
            failures = {}  # out of step: say nothing rather than blame the wrong interaction
        for state in o.states:
            if (error := failures.get(state)) is not None:
                o.ok, o.state_failed = False, True
                o.problems.insert(0, f"provider state {state!r} could not be set up: {error}")
    v.ok = v.ok and all(o.ok for o in v.outcomes)
    return v


def _summarise(
    results: dict,
    state_failures: dict[str, str] | None = None,
    credentials_given: bool = False,
    redacted: dict[str, list[dict]] | None = None,
) -> Verification:
    """`redacted`: where each interaction's request had redacted values (by description), for the hint
    on a 401 or 403."""
    outcomes = [
        InteractionOutcome(r["description"], r.get("result") == "OK", list(r.get("providerStates") or []))
        for r in results.get("interactionResults", [])
    ]
    for o in outcomes:
        for state in o.states:
            if (error := (state_failures or {}).get(state)) is not None:
                o.ok, o.state_failed = False, True
                o.problems.append(
                    f"provider state {state!r} could not be set up: {error} "
                    "(what follows, if anything, is the provider answering without it)"
                )
    loose = []
    for error in results.get("errors", []):
        owner = next((o for o in outcomes if error.get("interaction", "").endswith(f" - {o.description}")), None)
        mismatch = error.get("mismatch", {})
        where = None if redacted is None else redacted.get(owner.description if owner else "", [])
        problems = _problems(mismatch, credentials_given, where)
        if owner is None:
            loose.extend(problems)
            continue
        owner.ok = False
        owner.problems.extend(problems)
        owner.mismatches.extend(mismatch.get("mismatches", []))
        owner.state_failed = owner.state_failed or STATE_FAILED in mismatch.get("message", "")
    return Verification(bool(results.get("result")) and not loose and all(o.ok for o in outcomes), outcomes, loose)


def _clip(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_REDIRECTS = {"301", "302", "303", "307", "308"}


def _problems(mismatch: dict, credentials_given: bool = False, redacted: list[dict] | None = None) -> list[str]:
    """`redacted`: where the request had redacted values; None when the pact does not say (no hint is
    given for a 401 or 403 to a request that carried no credentials: it is refused for something else)."""
    if "mismatches" not in mismatch:
        message = mismatch.get("message", "verification error")
        if STATE_FAILED in message:
            return [
                "provider state setup failed: the state handler raised or answered with an error "
                "(this is not a mismatch of the response)"
            ]
        return [message]
    out = []
    for m in mismatch["mismatches"]:
        where = _KINDS.get(m.get("type"), m.get("type", "?"))
        path = m.get("path") or m.get("key") or ""
        text = m.get("mismatch") or f"expected {_clip(m.get('expected'))} but was {_clip(m.get('actual'))}"
        if m.get("type") == "StatusMismatch" and str(m.get("expected")) in _REDIRECTS:
            text += (
                "; the Pact verifier follows redirects, so it answers with where this one leads: leave "
                "redirects out of the contract (the default select rule 'followed-redirects' does)"
            )
        refused = m.get("type") == "StatusMismatch" and str(m.get("actual")) in ("401", "403")
        if refused and not credentials_given and redacted != []:
            text += "; the provider says the request was unauthorised: " + _credentials_hint(redacted or [])
        out.append(f"{where} {path}: {text}" if path else f"{where}: {text}")
    return out


def _credentials_hint(redacted: list[dict]) -> str:
    """Where the recording redacted this request's credentials, and the option that gives them back."""
    if not redacted:
        return "the recording redacted credentials, pass real ones with --header 'Authorization: ...'"
    places = ", ".join(where(e) for e in redacted)
    options = " ".join(dict.fromkeys(option(e) for e in redacted))
    return f"the recording redacted {places}: pass the real value(s) with {options}"


def render(v: Verification, origin: str | Path, provider_url: str) -> str:
    lines = [f"Verifying {origin} against {provider_url}"]
    for o in v.outcomes:
        given = f"  (given {', '.join(o.states)})" if o.states else ""
        verdict = "PASS" if o.ok else "STATE" if o.state_failed else "FAIL"
        lines.append(f"  {verdict:<5} {o.description}{given}")
        lines += [f"          {p}" for p in o.problems]
    lines += [f"  ERROR {e}" for e in v.errors]
    lines += [f"  NOTE  {n}" for n in v.notes]
    passed = sum(o.ok for o in v.outcomes)
    verdict = "the pact verified" if v.ok else "the pact did NOT verify"
    lines.append(f"{passed} of {len(v.outcomes)} interaction(s) passed: {verdict}")
    if any(o.state_failed for o in v.outcomes):
        lines.append("STATE: a provider state could not be set up; fix the state handler before reading the rest.")
    return "\n".join(lines)
