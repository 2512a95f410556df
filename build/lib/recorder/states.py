"""Provider states inferred from path parameters (first cut; the states issue deepens it).

In verification each interaction is replayed on its own against a provider set up fresh, so an
interaction on an item path names the item it needs:

    >>> from recorder.endpoints import to_endpoint
    >>> endpoint, values = to_endpoint("/users/42/orders/7")
    >>> state_for(endpoint, values, 200)
    ProviderState(name='order 7 of user 42 exists', params=(('id', 7), ('userId', 42)))
    >>> state_for(*to_endpoint("/users/999"), 404).name
    'user 999 does not exist'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder.endpoints import singular, typed_value
from recorder.model import Endpoint


@dataclass(frozen=True, slots=True)
class ProviderState:
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


def state_for(endpoint: Endpoint, values: dict[str, str], status: int) -> ProviderState | None:
    """The state an interaction needs, or None when its path names no item."""
    phrases = []
    previous = None
    for seg in endpoint.segments:
        if seg.is_param:
            resource = singular(previous.text) if previous and not previous.is_param else "item"
            phrases.append(f"{resource} {values[seg.text]}")
        previous = seg
    if not phrases:
        return None
    name = " of ".join(reversed(phrases)) + (" does not exist" if status == 404 else " exists")
    params = tuple(sorted((s.text, typed_value(s.kind, values[s.text])) for s in endpoint.params))
    return ProviderState(name, params)


def path_expression(endpoint: Endpoint) -> str:
    """The request path as a ProviderState generator expression: /users/${id}."""
    return endpoint.template.replace("{", "${")
