"""Words for names we make up: a resource's name from its collection's."""

from urllib.parse import unquote


def singular(word: str) -> str:
    """A resource name from a collection segment: users -> user, categories -> category."""
    w = unquote(word)
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if w.endswith(("ses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 1:
        return w[:-1]
    return w
