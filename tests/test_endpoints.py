import pytest

from recorder.infer.endpoints import PathRules, path_regex, singular, to_endpoint
from recorder.rules import load

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it


@pytest.mark.parametrize(
    ("path", "template", "values"),
    [
        ("/users/101", "/users/{id}", {"id": "101"}),
        ("/users", "/users", {}),
        ("/", "/", {}),
        ("/users/", "/users/", {}),
        ("/v1/users/7", "/v1/users/{id}", {"id": "7"}),
        ("/api/v2/items", "/api/v2/items", {}),
        ("/users/42/orders/7", "/users/{userId}/orders/{id}", {"userId": "42", "id": "7"}),
        ("/users/42/orders", "/users/{id}/orders", {"id": "42"}),
        ("/items/3fa85f64-5717-4562-b3fc-2c963f66afa6", "/items/{id}", {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}),
        ("/categories/3/sub-items/4", "/categories/{categoryId}/sub-items/{id}", {"categoryId": "3", "id": "4"}),
        ("/1/2", "/{id}/{id2}", {"id": "1", "id2": "2"}),
        ("/events/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/events/{id}", {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        ("/reports/2024-05-01", "/reports/{id}", {"id": "2024-05-01"}),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}", {"id": "507f1f77bcf86cd799439011"}),
        ("/products/sku-12345", "/products/{id}", {"id": "sku-12345"}),
        ("/api/v2/users/me", "/api/v2/users/me", {}),
        ("/v10/search", "/v10/search", {}),
        ("/files/abcdefabcdef", "/files/abcdefabcdef", {}),
        ("/things7/items", "/things7/items", {}),
        ("/507f1f77bcf86cd799439011/x", "/507f1f77bcf86cd799439011/x", {}),
        (
            "/cal/1b7c0c1e-5d3f-4a6e-9b2c-7f1e2d3c4b5a.ics",
            "/cal/{id}.ics",
            {"id": "1b7c0c1e-5d3f-4a6e-9b2c-7f1e2d3c4b5a.ics"},
        ),
        ("/files/42.json", "/files/{id}.json", {"id": "42.json"}),  # {id}.ics is another endpoint
        ("/docs/readme.md", "/docs/readme.md", {}),
        ("/42.json/x", "/42.json/x", {}),  # only a leaf: elsewhere a dot is part of a name
    ],
)
def test_detected_segments_become_named_parameters(path, template, values):
    endpoint, found = to_endpoint(path)
    assert (endpoint.template, found) == (template, values)


@pytest.mark.parametrize(
    ("path", "regex"),
    [
        ("/users/101", "^/users/[0-9]+$"),
        ("/a.b/1", r"^/a\.b/[0-9]+$"),
        ("/files/42.json", r"^/files/[0-9]+\.json$"),  # the extension stays literal
        ("/x/sku-12345.tar", r"^/x/[a-z0-9][a-z0-9_-]*\.tar$"),
        (
            "/things/3fa85f64-5717-4562-b3fc-2c963f66afa6/",
            "^/things/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/$",
        ),
    ],
)
def test_path_regex_matches_the_template_and_escapes_literals(path, regex):
    assert path_regex(to_endpoint(path)[0]) == regex


@pytest.mark.parametrize(
    ("word", "one"),
    [
        ("users", "user"),
        ("categories", "category"),
        ("addresses", "address"),
        ("boxes", "box"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("class", "class"),
        ("databases", "database"),
        ("responses", "response"),
        ("statuses", "status"),
        ("aliases", "alias"),
        ("warehouses", "warehouse"),
    ],
)
def test_singular(word, one):
    # Naive on purpose: names read well for regular plurals; rules will name the rest (issue 3).
    assert singular(word) == one


def test_explicit_templates_win_and_name_their_parameters(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("paths:\n  templates: ['/orgs/{org}/repos/{repo}']\n")
    endpoint, values = to_endpoint("/orgs/acme/repos/rocket", PathRules(load([rules])))
    assert (endpoint.template, values) == ("/orgs/{org}/repos/{repo}", {"org": "acme", "repo": "rocket"})
    assert path_regex(endpoint) == "^/orgs/[^/]+/repos/[^/]+$"


def test_a_switched_off_detector_leaves_segments_literal(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("paths:\n  detectors:\n    - {name: integer, enabled: false}\n")
    assert to_endpoint("/users/42", PathRules(load([rules])))[0].template == "/users/42"
