import pytest

from recorder.headers import HeaderPolicy, content_type_regex, location_regex
from recorder.rules import defaults

POLICY = HeaderPolicy(defaults())


def test_transport_noise_is_dropped_and_names_are_canonical():
    response = (
        ("date", "Thu"),
        ("server", "x"),
        ("content-length", "3"),
        ("content-type", "application/json"),
        ("x-api-version", "2"),
        ("X-List", "a"),
        ("x-list", "b"),
    )
    assert POLICY.kept(response, "response") == {
        "Content-Type": "application/json",
        "X-Api-Version": "2",
        "X-List": "a, b",
    }
    request = (("Host", "h"), ("User-Agent", "u"), ("Accept-Encoding", "gzip"), ("Accept", "application/json"))
    assert POLICY.kept(request, "request") == {"Accept": "application/json"}


@pytest.mark.parametrize(
    ("value", "regex"),
    [
        ("application/json", r"^application/json(\s*;.*)?$"),
        ("application/vnd.api+json; charset=utf-8", r"^application/vnd\.api\+json(\s*;.*)?$"),
    ],
)
def test_content_type_keeps_the_media_type_and_allows_parameters(value, regex):
    assert content_type_regex(value) == regex


@pytest.mark.parametrize(
    ("value", "regex"),
    [
        ("/users/103", "^(https?://[^/]+)?/users/[0-9]+$"),
        ("http://127.0.0.1:5001/users/103", "^(https?://[^/]+)?/users/[0-9]+$"),
        ("/search?page=2", r"^(https?://[^/]+)?/search(\?.*)?$"),
        ("urn:thing", "^urn:thing$"),
    ],
)
def test_location_matches_the_same_kind_of_resource_on_any_host(value, regex):
    assert location_regex(value) == regex


def test_redacted_headers_keep_a_regex_that_requires_a_value():
    rules = POLICY.matchers(
        {"Authorization": "Bearer <redacted>", "Cookie": "sid=<redacted>; theme=<redacted>"}, "request"
    )
    assert rules == {
        "Authorization": [{"match": "regex", "regex": "^Bearer .+$"}],
        "Cookie": [{"match": "regex", "regex": "^sid=.+; theme=.+$"}],
    }
