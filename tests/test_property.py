"""Property: whatever JSON responses were observed, they satisfy the contract inferred from them,
as judged by the Pact core's verifier (each observed response served by a real HTTP server).

Documents are drawn from a random shape (as an API's responses would be): fields that are sometimes
null or missing, arrays of any length (empty too), numbers that are integers or floats, strings that
carry a format or not, and fields whose type varies.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import ThreadingHTTPServer

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.jsonserver import JsonHandler
from recorder.pact.document import dumps, pact_document
from recorder.record.pipeline import Recording, Settings
from recorder.verify.run import verify
from tests.helpers import exchange

KEYS = st.sampled_from(["id", "name", "total", "items", "tags", "at", "x-y", "with space", "n", "owner", "", "a.b"])
FORMATTED = {
    "uuid": st.uuids().map(str),
    "datetime": st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
    "email": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(com|org)", fullmatch=True),
    "money": st.decimals(min_value=0, max_value=10_000, places=2).map(str),
}
SCALARS = {
    "int": st.integers(-10_000, 10_000),
    "float": st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
    "number": st.one_of(st.integers(-100, 100), st.floats(-100, 100, allow_nan=False).filter(lambda f: f != int(f))),
    "bool": st.booleans(),
    "str": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    "int-or-str": st.one_of(st.integers(0, 9), st.text("abc", max_size=3)),
    **FORMATTED,
}

leaf = st.sampled_from(sorted(SCALARS)).map(lambda k: ("scalar", k))
field_flags = st.tuples(st.booleans(), st.booleans())  # (optional, nullable)
shape = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.dictionaries(KEYS, st.tuples(children, field_flags), max_size=4).map(lambda d: ("object", d)),
        children.map(lambda c: ("array", c)),
    ),
    max_leaves=8,
)
root_shape = st.one_of(
    st.dictionaries(KEYS, st.tuples(shape, field_flags), min_size=1, max_size=5).map(lambda d: ("object", d)),
    shape.map(lambda c: ("array", c)),
)


@st.composite
def document(draw, node):
    kind, spec = node
    if kind == "scalar":
        return draw(SCALARS[spec])
    if kind == "array":
        return [draw(document(spec)) for _ in range(draw(st.integers(0, 3)))]
    out = {}
    for key, (child, (optional, nullable)) in spec.items():
        if optional and draw(st.booleans()):
            continue
        out[key] = None if nullable and draw(st.booleans()) else draw(document(child))
    return out


@st.composite
def observed_responses(draw):
    node = draw(root_shape)
    return [draw(document(node)) for _ in range(draw(st.integers(1, 4)))]


def serve(documents):
    class Handler(JsonHandler):
        def do_GET(self):
            self.send_json(200, documents[int(self.path.rsplit("/", 1)[1])])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(observed_responses())
def test_observed_responses_satisfy_the_inferred_contract(tmp_path_factory, documents):
    recording = Recording(Settings("c", "p", tmp_path_factory.mktemp("prop")))
    for doc in documents:
        recording.add(exchange("GET", "/doc", 200, doc))
    (inferred,) = pact_document("c", "p", recording.interactions())["interactions"]
    # One interaction per observed response, each replaying the inferred request and rules.
    interactions = []
    for n in range(len(documents)):
        it = copy.deepcopy(inferred)
        it["description"], it["key"], it["request"]["path"] = f"response {n}", f"k{n}", f"/doc/{n}"
        interactions.append(it)
    pact = {
        "consumer": {"name": "c"},
        "provider": {"name": "p"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }
    path = tmp_path_factory.mktemp("pact") / "pact.json"
    path.write_text(dumps(pact))
    server = serve(documents)
    try:
        result = verify(path, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    failures = [(o.description, o.problems) for o in result.outcomes if not o.ok]
    assert result.ok, (json.dumps(documents), json.dumps(inferred["response"]), failures)
