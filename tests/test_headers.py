import pytest

from recorder.infer.headers import (
    ETAG_CONDITION,
    HTTP_DATE,
    ISO_TIME,
    UNIX_TIME,
    HeaderPolicy,
    content_type_regex,
    location_regex,
)
from recorder.record.pipeline import Recording, Settings
from recorder.rules import core_matches, defaults
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

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
        "Authorization": ([{"match": "regex", "regex": "^Bearer .+$"}], "redacted secret"),
        "Cookie": ([{"match": "regex", "regex": "^sid=.+; theme=.+$"}], "redacted secret"),
    }


def test_cors_response_headers_only_when_the_consumer_sent_origin():
    response = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Max-Age", "600"), ("X-A", "1"))
    assert POLICY.kept(response, "response", (("Accept", "*/*"),)) == {"X-A": "1"}
    with_origin = POLICY.kept(response, "response", (("Origin", "https://app.example"),))
    assert with_origin == {"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": "600", "X-A": "1"}
    assert POLICY.matchers(with_origin, "response")["Access-Control-Max-Age"][0] == [
        {"match": "regex", "regex": "^-?[0-9]+$"}
    ]


@pytest.mark.parametrize(
    ("name", "values", "regex"),
    [
        ("Allow", ["GET, HEAD", "HEAD, GET"], r"^(?:GET|HEAD)(?:\s*,\s*(?:GET|HEAD))*$"),
        ("X-Features", ["b, a", "a, b"], r"^(?:a|b)(?:\s*,\s*(?:a|b))*$"),
        ("X-Total-Count", ["2"], "^-?[0-9]+$"),
        ("X-Rate-Left", ["59", "58"], "^-?[0-9]+$"),
        ("X-Next", ["http://127.0.0.1:5001/items/7?cursor=abc"], r"^(https?://[^/]+)?/items/[0-9]+(\?.*)?$"),
        ("Etag", ['W/"1a"', '"2b"'], '^(W/)?"[^"]*"$'),
        ("Etag", ["unquoted"], "^.+$"),
        ("Last-Modified", ["Wed, 21 Oct 2015 07:28:00 GMT"], HTTP_DATE),
        # a date or a time of the clock in a header no rule names, seen once: a fresh provider's clock differs
        ("X-Copied-From-Last-Modified", ["Mon, 07 Dec 2026 04:46:41 GMT"], HTTP_DATE),
        ("X-Timestamp", ["1796618799.56030"], UNIX_TIME),
        ("X-Put-Timestamp", ["1796618799"], "^-?[0-9]+$"),
        ("X-Ms-Snapshot", ["2026-12-07T10:58:50.9050000Z"], ISO_TIME),  # a snapshot's time, handed out
    ],
)
def test_response_headers_that_a_fresh_provider_answers_otherwise_are_not_pinned(name, values, regex):
    (matchers, _why) = POLICY.matchers({name: values[0]}, "response", {name: values})[name]
    assert matchers == [{"match": "regex", "regex": regex}]


def test_a_constant_response_header_no_rule_names_is_kept_exactly():
    assert POLICY.matchers({"X-Content-Type-Options": "nosniff"}, "response") == {}


def test_a_request_header_that_sends_a_url_asks_for_its_path_on_any_host():
    (matchers, _why) = POLICY.matchers({"Destination": "http://127.0.0.1:8585/b/f.txt"}, "request")["Destination"]
    assert matchers == [{"match": "regex", "regex": r"^https?://[^/]+/b/f\.txt$"}]
    assert POLICY.matchers({"X-Copy-Source": "/bucket/key"}, "request") == {}  # a path is kept as sent


def test_conditional_and_semantic_request_headers_are_kept_and_etags_are_matched_by_format():
    request = (
        ("If-None-Match", '"abc", W/"def"'),
        ("If-Match", "*"),
        ("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("If-Unmodified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("Prefer", "return=minimal"),
        ("Depth", "infinity"),
    )
    kept = POLICY.kept(request, "request")
    assert set(kept) == {"If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since", "Prefer", "Depth"}
    rules = {name: m[0]["regex"] for name, (m, _) in POLICY.matchers(kept, "request").items()}
    assert rules == {
        "If-None-Match": ETAG_CONDITION,
        "If-Match": ETAG_CONDITION,
        "If-Modified-Since": HTTP_DATE,
        "If-Unmodified-Since": HTTP_DATE,
        "Depth": "^(0|1|infinity)$",
    }
    for value in ("*", '"abc"', 'W/"abc"', '"a", "b"'):
        assert core_matches(ETAG_CONDITION, value), value
    assert core_matches(HTTP_DATE, "Wed, 21 Oct 2015 07:28:00 GMT")


def test_request_headers_sent_by_most_exchanges_are_part_of_the_contract(tmp_path):
    recording = Recording(Settings("c", "p", tmp_path))
    recording.add(exchange("PROPFIND", "/cal/", 207, {}, request_headers=(("Accept", "*/*"),)))  # a first curl
    for _ in range(3):
        recording.add(exchange("PROPFIND", "/cal/", 207, {}, request_headers=(("Accept", "*/*"), ("Depth", "1"))))
    (propfind,) = recording.interactions()
    assert propfind.request.headers == {"Accept": "*/*", "Depth": "1"}
    assert propfind.request.rules["header"]["Depth"] == [{"match": "regex", "regex": "^(0|1|infinity)$"}]
