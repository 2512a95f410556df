"""Matching rules for an XML response that a fresh provider can satisfy.

The core compares XML element by element: expected elements must be there (a provider may add
more), and text and attributes are equal unless a rule says otherwise. So the example keeps its
structure (element presence) and every text and attribute gets a `type` rule. Never a `$` type rule:
the core would hold every repeated element to the first one (a WebDAV multistatus fails against its
own bytes). Rule paths name elements as the core does: `ns-uri:local`, attributes `@name`, text
`#text`, with no index, so one rule covers every repetition.

Lists stay checked across responses: a repeated element is kept as many times as every recorded
response had it (the list's minimum), and an element some recorded responses lack is optional (left
out of the example: a provider may add it, and the contract never asks for it to be absent).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # noqa: N817 (the usual name)
from contextlib import suppress

RULES_MAX = 500  # distinct text/attribute paths; beyond that the body is checked by content type only


def xml_contract(text: str, others: tuple[str, ...] = ()) -> tuple[str, dict[str, list[dict]]] | None:
    """The example (empty elements, and the elements and repetitions some of the `others` responses lack
    left out) and JSONPath -> [type] for every text and attribute in it; None when it does not parse or has
    too many distinct paths to be a contract anyone reads.

    An empty element (`<D:read/>`, `<D:collection/>`) is a value written as an element name (a
    privilege, a resource type): another provider's data has others, so it is not required."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    _drop_empty(root)
    for other in others:
        with suppress(ET.ParseError):
            _keep_common(root, ET.fromstring(other))
    _prefixes(text)
    rules: dict[str, list[dict]] = {}
    stack = [(root, f"$['{_name(root.tag)}']")]
    while stack:
        element, path = stack.pop()
        if element.text and element.text.strip():
            rules[f"{path}['#text']"] = [{"match": "type"}]
        for attribute in element.attrib:
            rules[f"{path}['@{_name(attribute)}']"] = [{"match": "type"}]
        stack.extend((child, f"{path}['{_name(child.tag)}']") for child in element if isinstance(child.tag, str))
        if len(rules) > RULES_MAX:
            return None
    return ET.tostring(root, encoding="unicode"), dict(sorted(rules.items()))


def xml_leaves(text: str) -> dict[str, str] | None:
    """Every text and attribute of an XML document by the rule path `xml_contract` gives it (a repeated
    one's first value); None when it does not parse. What `diff` compares two XML examples by."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    out: dict[str, str] = {}
    stack = [(root, f"$['{_name(root.tag)}']")]
    while stack:
        element, path = stack.pop()
        if element.text and element.text.strip():
            out.setdefault(f"{path}['#text']", element.text.strip())
        for attribute, value in element.attrib.items():
            out.setdefault(f"{path}['@{_name(attribute)}']", value)
        children = [(child, f"{path}['{_name(child.tag)}']") for child in element if isinstance(child.tag, str)]
        stack.extend(reversed(children))
    return out


def _drop_empty(element: ET.Element) -> None:
    """Remove the empty elements below `element` (not those that only contain empty ones: a
    `<D:privilege>` stays, so the contract still asks for the privileges, whatever they are)."""
    for child in list(element):
        if not len(child) and not child.attrib and not (child.text or "").strip():
            element.remove(child)
        else:
            _drop_empty(child)


def _keep_common(element: ET.Element, other: ET.Element) -> None:
    """Remove the children that `other` (the same element in another response) does not have: the n-th
    of a name goes when `other` has fewer than n of it (a shorter list)."""
    counts: dict[str, int] = {}
    for child in list(element):
        if not isinstance(child.tag, str):
            continue
        n = counts[child.tag] = counts.get(child.tag, 0) + 1
        same = other.findall(child.tag)
        if len(same) < n:
            element.remove(child)
        else:
            _keep_common(child, same[n - 1])


def _prefixes(text: str) -> None:
    """Write the example with the document's own namespace prefixes (`D:`), not ElementTree's `ns0:`."""
    for _, (prefix, uri) in ET.iterparse(io.StringIO(text), events=("start-ns",)):
        with suppress(ValueError):  # a prefix ElementTree reserves (ns0, ...) keeps ElementTree's
            ET.register_namespace(prefix, uri)


def _name(tag: str) -> str:
    """`{DAV:}href` -> `DAV::href`, as the core names a namespaced element."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return f"{uri}:{local}"
    return tag
