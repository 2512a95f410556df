import pytest

from recorder.endpoints import to_endpoint
from recorder.rules import StateRule
from recorder.states import echoed_params, path_expression, state_for


@pytest.mark.parametrize(
    ("method", "path", "status", "name", "params"),
    [
        ("GET", "/users/101", 200, "user 101 exists", {"id": 101}),
        ("GET", "/users/999", 404, "user 999 does not exist", {"id": 999}),
        ("PUT", "/users/7", 200, "user 7 exists", {"id": 7}),
        ("GET", "/users/42/orders/7", 200, "order 7 of user 42 exists", {"id": 7, "userId": 42}),
        ("GET", "/users/42/orders", 200, "user 42 exists", {"id": 42}),
        ("GET", "/users/42/orders", 404, "user 42 does not exist", {"id": 42}),
        (
            "GET",
            "/items/3fa85f64-5717-4562-b3fc-2c963f66afa6",
            200,
            "item 3fa85f64-5717-4562-b3fc-2c963f66afa6 exists",
            {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
        ),
    ],
)
def test_item_paths_name_the_item_they_need(method, path, status, name, params):
    state = state_for(*to_endpoint(path), method, status, None)
    assert (state.name, state.params_dict) == (name, params)


@pytest.mark.parametrize(
    ("body", "name", "params"),
    [
        ({"items": [{"id": 1}, {"id": 2}], "count": 2}, "users exist", {"ids": [1, 2]}),
        ([{"uuid": "a"}, {"uuid": "b"}], "users exist", {"ids": ["a", "b"]}),
        ({"items": [], "count": 0}, "no users exist", {}),
        ({"items": [{"name": "x"}]}, "users exist", {}),
    ],
)
def test_collection_reads_name_what_must_exist(body, name, params):
    state = state_for(*to_endpoint("/users"), "GET", 200, body)
    assert (state.name, state.params_dict) == (name, params)


def test_creating_in_a_collection_needs_no_state():
    assert state_for(*to_endpoint("/users"), "POST", 201, {"id": 3}) is None


def test_rules_name_states_by_template():
    rules = (StateRule("named", "GET /users/{id}", "a user with id {id} exists", "2xx"),)
    assert state_for(*to_endpoint("/users/5"), "GET", 200, None, rules).name == "a user with id 5 exists"
    assert state_for(*to_endpoint("/users/5"), "GET", 404, None, rules).name == "user 5 does not exist"


def test_path_generator_expression_uses_the_parameter_names():
    assert path_expression(to_endpoint("/users/42/orders/7")[0]) == "/users/${userId}/orders/${id}"


def test_response_fields_that_echo_a_path_parameter():
    endpoint, values = to_endpoint("/users/42")
    assert echoed_params({"id": 42, "n": 42.5, "owner": 7}, values, endpoint) == {"$.id": ("id", "INTEGER")}
