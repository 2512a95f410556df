"""Sibling collapse: /docs/intro, /docs/setup, /docs/faq ... become /docs/{id} once a position under the
same parent has shown `sibling_collapse` distinct literal values (rule `paths.sibling_collapse`), and
names no collection word names that differ only in their numbers (/user54, /user55: names a suite
generated) as soon as two do.

Whether a segment is a parameter can only be known from many exchanges, so this runs when the pact is
built, merging the observations of the collapsed paths (their shapes merge with genson). So does the merge of
interactions a parameter's value told apart as operations, once the parameter turned out to hold data
(operations_as_data).
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

from recorder.infer.endpoints import param_name
from recorder.infer.observation import Observation, key_of
from recorder.model import Endpoint, InteractionKey, Segment


def collapse(
    observations: dict[InteractionKey, Observation],
    threshold: int,
    never: list[re.Pattern[str]],
    guessed: frozenset[str] = frozenset(),
) -> dict[InteractionKey, Observation]:
    """The observations with sibling positions collapsed into parameters: where `threshold` distinct
    literals were seen (0: never), and where a sibling was made a parameter by a detector in `guessed`
    (one that guesses from how a name looks: if /simple/urllib3/ is /simple/{id}/, so is
    /simple/certifi/; an integer or a uuid is no guess, so /users/me stays beside /users/{id})."""
    siblings: dict[tuple, set[str]] = defaultdict(set)
    for obs in observations.values():
        for i, pattern in _positions(obs.endpoint, never):
            siblings[pattern].add(obs.endpoint.segments[i].text)
    wide = {p for p, values in siblings.items() if threshold > 0 and len(values) >= threshold}
    guesses = {p for obs in observations.values() for _, p in _guesses(obs.endpoint, guessed) if p in siblings}
    numbered: dict[tuple, set[str]] = defaultdict(set)
    for obs in observations.values():
        for i, pattern in _numbered(obs.endpoint, never):
            numbered[pattern].add(obs.endpoint.segments[i].text)
    counted = {p for p, values in numbered.items() if len(values) >= 2}
    if not wide and not guesses and not counted:
        return observations
    groups: dict[InteractionKey, list[Observation]] = defaultdict(list)
    for obs in sorted(observations.values(), key=lambda o: o.order):
        positions = [i for i, pattern in _positions(obs.endpoint, never) if pattern in wide | guesses]
        positions += [i for i, pattern in _guesses(obs.endpoint, guessed) if pattern in guesses]
        positions += [i for i, pattern in _numbered(obs.endpoint, never) if pattern in counted]
        obs = _reparent(obs, sorted(set(positions))) if positions else obs
        groups[obs.key].append(obs)
    return {key: same[0] if len(same) == 1 else Observation.merged(same) for key, same in groups.items()}


def operations_as_data(observations: dict[InteractionKey, Observation]) -> dict[InteractionKey, Observation]:
    """The observations with those merged that a parameter's value told apart as operations (`?action=`) where the
    parameter turned out to hold data (more distinct values than operations have: recorder.infer.operations):
    each key made again from its example, now without that value."""
    names = next(iter(observations.values())).ctx.operations if observations else None
    if names is None or not any(names.is_data(name) for name in names.seen):
        return observations
    groups: dict[InteractionKey, list[Observation]] = defaultdict(list)
    for obs in sorted(observations.values(), key=lambda o: o.order):
        if (key := key_of(obs.example, obs.endpoint, obs.ctx)) != obs.key:
            obs = copy.copy(obs)  # shapes shared, never changed
            obs.key = key
        groups[key].append(obs)
    return {key: same[0] if len(same) == 1 else Observation.merged(same) for key, same in groups.items()}


def _positions(endpoint: Endpoint, never: list[re.Pattern[str]]):
    """(index, sibling pattern) for every literal segment that could be a parameter."""
    segs = endpoint.segments
    for i, seg in enumerate(segs):
        if i == 0 or seg.is_param or any(n.search(seg.text) for n in never):
            continue
        yield i, _pattern(endpoint, i)


_DIGITS = re.compile(r"[0-9]+")


def _numbered(endpoint: Endpoint, never: list[re.Pattern[str]]):
    """(index, pattern) for every literal segment with a number in it that no collection word names (the
    first one, /user54: a user a suite made; or one after a parameter): siblings whose names differ only
    in their numbers share the pattern. After a word (/records/r1) the detectors and the threshold decide."""
    segs = endpoint.segments
    for i, seg in enumerate(segs):
        unnamed = i == 0 or segs[i - 1].is_param
        if unnamed and not seg.is_param and _DIGITS.search(seg.text) and not any(n.search(seg.text) for n in never):
            yield i, (*_pattern(endpoint, i), _DIGITS.sub("0", seg.text))


def _guesses(endpoint: Endpoint, guessed: frozenset[str]):
    """(index, sibling pattern) for every parameter a guessing detector made."""
    for i, seg in enumerate(endpoint.segments):
        if seg.kind in guessed:
            yield i, _pattern(endpoint, i)


def _pattern(endpoint: Endpoint, i: int) -> tuple:
    """What siblings share: the segments around position i."""
    segs = endpoint.segments
    return segs[:i], i, segs[i + 1 :], endpoint.trailing_slash


def _reparent(original: Observation, positions: list[int]) -> Observation:
    """A copy of the observation (shapes shared, never changed) with the positions made parameters."""
    obs = copy.copy(original)
    segs = list(obs.endpoint.segments)
    values = dict(obs.values)
    params = [i for i, s in enumerate(segs) if s.is_param or i in positions]
    for i in positions:
        value = values.pop(segs[i].text) if segs[i].is_param else segs[i].text
        parent = segs[i - 1].text if i > 0 and not segs[i - 1].is_param else None
        name = param_name(parent, last=i == params[-1], taken=set(values))
        values[name] = value
        segs[i] = Segment(name, "sibling", "[^/]+")
    obs.endpoint = Endpoint(tuple(segs), obs.endpoint.trailing_slash)
    obs.values = values
    obs.key = key_of(obs.example, obs.endpoint, obs.ctx)
    return obs
