"""Words for names we make up: a resource's name from its collection's."""

from urllib.parse import unquote


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
