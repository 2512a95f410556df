"""Words for names we make up (a resource's name from its collection's), and the keys that carry names."""

import re
from urllib.parse import unquote

# A key whose value names what a call makes, a name a person chose (`name`, `room_alias_name`, `username`,
# `title`): not a setting.
NAMING_KEY = re.compile(r"(name|alias|title|label|slug|login|user|email)(_[0-9]+)?$", re.I)


def singular(word: str) -> str:
    """A resource name from a collection segment: users -> user, categories -> category."""
    w = unquote(word)
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if (
        w.endswith(("sses", "xes", "ches", "shes", "iases"))
        or w.endswith("uses")
        and not w.endswith(("ouses", "auses"))
    ):
        return w[:-2]  # classes, boxes, aliases, statuses
    if w.endswith("ses"):
        return w[:-1]  # databases, responses, houses, leases
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 1:
        return w[:-1]
    return w
