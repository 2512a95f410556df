import pytest

from recorder.endpoints import to_endpoint
from recorder.states import path_expression, state_for


@pytest.mark.parametrize(
    ("path", "status", "name", "params"),
    [
        ("/users/101", 200, "user 101 exists", {"id": 101}),
        ("/users/999", 404, "user 999 does not exist", {"id": 999}),
        ("/users/42/orders/7", 200, "order 7 of user 42 exists", {"id": 7, "userId": 42}),
        ("/users/42/orders", 200, "user 42 exists", {"id": 42}),
        (
            "/items/3fa85f64-5717-4562-b3fc-2c963f66afa6",
            200,
            "item 3fa85f64-5717-4562-b3fc-2c963f66afa6 exists",
            {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
        ),
    ],
)
def test_item_paths_name_the_item_they_need(path, status, name, params):
    state = state_for(*to_endpoint(path), status)
    assert (state.name, state.params_dict) == (name, params)


def test_paths_without_parameters_need_no_state():
    assert state_for(*to_endpoint("/users"), 200) is None


def test_path_generator_expression_uses_the_parameter_names():
    assert path_expression(to_endpoint("/users/42/orders/7")[0]) == "/users/${userId}/orders/${id}"
