"""Provider states: what the provider must hold for an interaction to be verified on its own.

In a recording the provider was in whatever state it happened to be in; in verification every
interaction is replayed alone against a provider set up fresh. So each interaction names the state it
needs, with the values the recording used as params:

    >>> from recorder.endpoints import to_endpoint
    >>> state_for(*to_endpoint("/users/42/orders/7"), "GET", 200, None)
    ProviderState(name='order 7 of user 42 exists', params=(('id', 7), ('userId', 42)))
    >>> state_for(*to_endpoint("/users/999"), "GET", 404, None).name
    'user 999 does not exist'
    >>> state_for(*to_endpoint("/users"), "GET", 200, {"items": [{"id": 1}, {"id": 2}]})
    ProviderState(name='users exist', params=(('ids', [1, 2]),))

Rule files can name states by template (`states:` in rules/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder.endpoints import singular, typed_value
from recorder.model import Endpoint
from recorder.rules import StateRule, endpoint_matches, status_matches

_ID_KEYS = ("id", "uuid", "key", "slug")


@dataclass(frozen=True, slots=True)
class ProviderState:
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


def state_for(
    endpoint: Endpoint,
    values: dict[str, str],
    method: str,
    status: int,
    response: Any,
    rules: tuple[StateRule, ...] = (),
) -> ProviderState | None:
    """The state an interaction needs, or None when it needs none (e.g. creating in a collection)."""
    params = {s.text: typed_value(s, values[s.text]) for s in endpoint.params}
    rule = next((r for r in reversed(rules) if _rule_matches(r, endpoint, method, status)), None)
    if endpoint.params:
        state = _item_state(endpoint, values, status, params)
    elif method == "GET" and 200 <= status < 300:
        state = _collection_state(endpoint, response)
    else:
        state = None
    if rule is not None:
        params = dict(state.params) if state else params
        try:
            return ProviderState(rule.state.format(**params), tuple(sorted(params.items())))
        except (KeyError, IndexError, ValueError):
            pass  # a placeholder this interaction has no value for: keep the inferred name
    return state


def _item_state(endpoint: Endpoint, values: dict[str, str], status: int, params: dict) -> ProviderState:
    phrases = []
    previous = None
    for seg in endpoint.segments:
        if seg.is_param:
            resource = singular(previous.text) if previous and not previous.is_param else "item"
            phrases.append(f"{resource} {values[seg.text]}")
        previous = seg
    name = " of ".join(reversed(phrases)) + (" does not exist" if status == 404 else " exists")
    return ProviderState(name, tuple(sorted(params.items())))


def _collection_state(endpoint: Endpoint, response: Any) -> ProviderState | None:
    items = collection_items(response)
    if items is None or not endpoint.segments:
        return None
    resources = endpoint.segments[-1].text
    if not items:
        return ProviderState(f"no {resources} exist")
    ids = [next((item[k] for k in _ID_KEYS if k in item), None) for item in items if isinstance(item, dict)]
    ids = [i for i in ids if i is not None]
    return ProviderState(f"{resources} exist", (("ids", ids),) if ids else ())


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


def path_expression(endpoint: Endpoint) -> str:
    """The request path as a ProviderState generator expression: /users/${id}."""
    return endpoint.template.replace("{", "${")


def echoed_params(response: Any, values: dict[str, str], endpoint: Endpoint) -> dict[str, tuple[str, str]]:
    """Top-level response fields that echo a path parameter: JSONPath -> (param name, dataType)."""
    if not isinstance(response, dict):
        return {}
    out = {}
    for seg in endpoint.params:
        value = typed_value(seg, values[seg.text])
        for key, field in response.items():
            if field == value and not isinstance(field, bool) and key.isidentifier():
                out[f"$.{key}"] = (seg.text, "INTEGER" if isinstance(value, int) else "STRING")
    return out
