"""Provider states: what the provider must hold for an interaction to be verified on its own.

In a recording the provider was in whatever state the exchanges before made it; in verification every
interaction is replayed alone against a provider set up fresh. So each interaction names the states it
needs, outermost resource first, with generic names and the recorded values as params, and each state
carries the recorded requests that make it (its recipe, see `timeline`):

    PUT /stores/main/collections/orders 201   ->  store exists {store: main},
                                                  collection does not exist {store: main, collection: orders}
    GET /stores/main/records/9f2c 200         ->  store exists {store: main},
                                                  record exists {store: main, record: 9f2c}
    GET /stores/main/records 200              ->  store exists {store: main},
                                                  records exist {store: main, ids: [9f2c, r1]}

Names never carry a recorded value, so a re-recording keeps them. Rule files can name states by
template (`states:` in rules/README.md).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from recorder.model import Endpoint
from recorder.rules import StateRule, endpoint_matches, status_matches
from recorder.states.steps import Step
from recorder.states.timeline import READ, Need, Preconditions

_ID_KEYS = ("id", "uuid", "key", "slug")
VALUES_STATE = "values handed out by earlier responses"
SENT_STATE = "values sent by earlier requests"
MADE_STATE = "what earlier writes handed out exists"
CHANGED_STATE = "what earlier writes changed"
CHOSEN_STATE = "the names it chooses are free"
# states of values and writes found in traffic, not of resources, by the kind of need they come from
_FOUND_KINDS = {
    "values": VALUES_STATE,
    "sent": SENT_STATE,
    "made": MADE_STATE,
    "changed": CHANGED_STATE,
    "chosen": CHOSEN_STATE,
}
FOUND_STATES = tuple(_FOUND_KINDS.values())


@dataclass(frozen=True)
class ProviderState:
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    steps: tuple[Step, ...] = ()  # the recorded requests that make it (run in order by a setup)
    data: Any = None  # what the provider held, as the recording last saw it
    seed: bool = False  # no recorded request makes it: data the provider must hold already
    delete: str = ""  # a state of absence: the path a setup deletes when the provider cannot be reset
    clock: tuple[tuple[str, str, float], ...] = ()  # params taken from the clock: (param, kind, offset)

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def identity(self) -> tuple[str, tuple]:
        return self.name, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in self.params)


def param_value(value: Any) -> Any:
    """Numbers travel as numbers (an id 42 is 42 in params and in generated paths)."""
    if isinstance(value, str) and value.isdigit() and (value == "0" or not value.startswith("0")) and len(value) < 16:
        return int(value)
    if isinstance(value, (tuple, list)):
        return [param_value(v) for v in value]
    return value


def states_for(
    pre: Preconditions,
    endpoint: Endpoint,
    method: str,
    status: int,
    response: Any,
    rules: tuple[StateRule, ...] = (),
    operation: str = "",
) -> list[ProviderState]:
    """The states an interaction needs, outermost first; [] when it needs none. `operation`: the one the request
    names inside it (GraphQL, a statement): its path is no collection."""
    states = [_state(need, response) for need in pre.needs]
    about_resources = any(n.kind in ("exists", "absent", "list") for n in pre.needs)
    listing = (
        None
        if about_resources or operation or method != "GET" or not 200 <= status < 300
        else _collection_state(endpoint, response)
    )
    if listing is not None:
        states.insert(0, listing)  # a list of data that was there before the recording
    rule = next((r for r in reversed(rules) if _rule_matches(r, endpoint, method, status)), None)
    target = next(
        (i for i in range(len(states) - 1, -1, -1) if states[i].name not in FOUND_STATES),
        None,
    )
    if rule is not None and target is not None:
        st = states[target]
        with suppress(KeyError, IndexError, ValueError):  # a placeholder it has no value for: keep the name
            states[target] = replace(st, name=rule.state.format(**st.params_dict))
    return states


def _state(need: Need, response: Any) -> ProviderState:
    if (found := _FOUND_KINDS.get(need.kind)) is not None:  # values and writes found in traffic
        params = {name: param_value(value) for name, value in need.values}
        return ProviderState(found, tuple(sorted(params.items())), need.steps, clock=need.clock)
    params = {name: param_value(value) for name, value in need.levels}
    noun = _noun(need.levels[-1][0]) if need.levels else "item"
    if need.kind == "list":
        ids = {str(v): param_value(v) for v in [*dict(need.values)["ids"], *_ids(response)]}
        params["ids"] = sorted(ids.values(), key=str)  # made by its setup, or there before the recording
        return ProviderState(f"{need.noun} exist", tuple(sorted(params.items())), need.steps, response)
    if need.kind == "absent":
        return ProviderState(f"{noun} does not exist", tuple(sorted(params.items())), delete=need.path)
    writes = sum(1 for s in need.steps if s.acts_as not in READ)
    if writes > 1:  # the same resource after more updates is another state (an ETag of version 1 is stale)
        params["version"] = writes
    return ProviderState(f"{noun} exists", tuple(sorted(params.items())), need.steps, need.data, need.seed)


def _noun(param: str) -> str:
    base, _, n = param.rpartition("_")
    return base if n.isdigit() and base else param


def _collection_state(endpoint: Endpoint, response: Any) -> ProviderState | None:
    items = collection_items(response)
    if items is None or not endpoint.segments:
        return None
    resources = endpoint.segments[-1].text
    if not items:
        return ProviderState(f"no {resources} exist", seed=True)
    ids = _ids(response)
    return ProviderState(f"{resources} exist", (("ids", ids),) if ids else (), data=response, seed=True)


def _ids(response: Any) -> list:
    """The ids of the items a collection response lists."""
    items = collection_items(response) or []
    ids = [next((item[k] for k in _ID_KEYS if k in item), None) for item in items if isinstance(item, dict)]
    return [i for i in ids if isinstance(i, (int, str)) and not isinstance(i, bool)]


def collection_items(body: Any) -> list | None:
    """The list a collection response carries: the body itself, or its first top-level list."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return next((v for v in body.values() if isinstance(v, list)), None)
    return None


def _rule_matches(rule: StateRule, endpoint: Endpoint, method: str, status: int) -> bool:
    return endpoint_matches(rule.endpoint, method, endpoint.template) and (
        rule.status is None or status_matches(rule.status, status)
    )


def echoed_params(response: Any, path_params: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Top-level response fields that echo a path's state param: JSONPath -> (param name, dataType)."""
    if not isinstance(response, dict):
        return {}
    out = {}
    for name, value in path_params.items():
        for key, field in response.items():
            if field == value and not isinstance(field, bool) and key.isidentifier():
                out[f"$.{key}"] = (name, "INTEGER" if isinstance(value, int) else "STRING")
    return out
