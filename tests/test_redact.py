"""Secrets of every kind are redacted before anything is kept; what was redacted is counted by where."""

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest

from recorder.infer.headers import HeaderPolicy
from recorder.rules import defaults
from recorder.secrets.redact import PLACEHOLDER, Redactor, luhn, redact_header_value
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNlY3JldA"
BCRYPT = "$2b$12$KIXQJ0Y1nCz5lq8Y6h8v8uJ3v5S1oV0Vh4Jm6jZQ9k2Yw1c8mQ5aW"


def redactor():
    return Redactor(defaults(), HeaderPolicy(defaults()).secret)


def test_credentials_in_headers_never_survive_redaction():
    ex = exchange(
        request_headers=(
            ("Authorization", f"Bearer {JWT}"),
            ("Cookie", "sid=s3cr3t; theme=dark"),
            ("X-Api-Key", "k-123456"),
            ("X-Auth-Key", "testing"),  # a v1 login's password (Swift's tempauth), short as it may be
            ("X-Auth-User", "test:tester"),
            ("Accept", "application/json"),
            ("X-Debug", JWT),
        ),
        response_headers=(("Set-Cookie", "sid=n3w; Path=/; HttpOnly"),),
    )
    r = redactor()
    out = r.exchange(ex)
    assert dict(out.request_headers) == {
        "Authorization": "Bearer <redacted>",
        "Cookie": "sid=<redacted>; theme=<redacted>",
        "X-Api-Key": "<redacted>",
        "X-Auth-Key": "<redacted>",
        "X-Auth-User": "test:tester",
        "Accept": "application/json",
        "X-Debug": "<redacted>",
    }
    assert dict(out.response_headers) == {"Set-Cookie": "sid=<redacted>"}
    assert not any(s in repr(out) for s in (JWT, "s3cr3t", "k-123456", "testing", "n3w"))
    assert r.found["request header Authorization"] == 1


def test_secret_fields_by_name_at_any_depth_and_secret_looking_values_anywhere():
    body = {
        "user": {"name": "ada", "password": "hunter2", "clientSecret": "abc", "tokens": 3},
        "items": [{"api-key": "k1", "note": JWT}],
        "hash": BCRYPT,
        "card": "4111 1111 1111 1111",
        "id": 12345678901,
        "token_type": "bearer",
        "refresh_token": "r-1",
        "pin_code": "1234",
    }
    r = redactor()
    out = json.loads(r.exchange(exchange("POST", "/login", 200, body, request_body=body)).response_body)
    assert out == {
        "user": {"name": "ada", "password": PLACEHOLDER, "clientSecret": PLACEHOLDER, "tokens": 3},
        "items": [{"api-key": PLACEHOLDER, "note": PLACEHOLDER}],
        "hash": PLACEHOLDER,
        "card": PLACEHOLDER,
        "id": 12345678901,
        "token_type": "bearer",
        "refresh_token": PLACEHOLDER,
        "pin_code": "1234",
    }
    assert r.found["response body $.user.password"] == 1
    assert r.found["request body $.items[*].note"] == 1


def test_query_parameters_form_bodies_and_text_bodies():
    r = redactor()
    text = exchange(
        "GET",
        "/oauth/token",
        200,
        query=(("api_key", "abc123"), ("page", "2")),
        raw_body=f"token issued: {JWT} ok".encode(),
        response_headers=(("Content-Type", "text/plain"),),
    )
    out = r.exchange(text)
    assert out.query == (("api_key", PLACEHOLDER), ("page", "2"))
    assert out.response_body == b"token issued: <redacted> ok"
    form = replace(
        exchange("POST", "/login", 302),
        request_body=b"user=ada&password=hunter2",
        request_headers=(("Content-Type", "application/x-www-form-urlencoded"),),
    )
    assert r.exchange(form).request_body == b"user=ada&password=%3Credacted%3E"
    assert r.found == {"query parameter api_key": 1, "response body (text)": 1, "request body field password": 1}


def test_credential_headers_of_http_messages_inside_a_body_are_redacted_as_the_message_s_own():
    """A batch of requests sent as one (multipart/mixed, each part an application/http message), each signed."""
    signature = "devstoreaccount1:Xo5kb2FyIHNpZ25hdHVyZSBvZiB0aGUgc3ViLXJlcXVlc3Q="
    batch = (
        "--batch_1\r\nContent-Type: application/http\r\nContent-ID: 0\r\n\r\n"
        "DELETE /container/a.log HTTP/1.1\r\nx-ms-date: Mon, 07 Dec 2026 08:00:00 GMT\r\n"
        f"Authorization: SharedKey {signature}\r\nContent-Length: 0\r\n\r\n\r\n--batch_1--\r\n"
    )
    ex = replace(
        exchange("POST", "/container", 202),
        request_body=batch.encode(),
        request_headers=(("Content-Type", "multipart/mixed; boundary=batch_1"),),
    )
    r = redactor()
    out = r.exchange(ex)
    assert signature not in repr(out)
    assert out.request_body == batch.replace(signature, "").replace("SharedKey ", "SharedKey <redacted>").encode()
    assert dict(out.secrets[0])["in"] == "text"
    plain = replace(ex, request_body=batch.replace(signature, "x").replace("Authorization", "X-Trace").encode())
    assert r.exchange(plain).request_body == plain.request_body  # nothing secret: byte for byte as sent


def test_a_header_that_sends_back_a_handed_out_token_as_base64_user_token_is_redacted_whatever_its_letters():
    """base64("ada:" + this token) has no digit: no value pattern of an API key takes it for one."""
    token = "ea922b1e8ea14360bb52f631beb72852"
    r = redactor()
    r.exchange(exchange("POST", "/login", 200, {"result": {"password": token, "user": "ada"}}))
    sent = base64.b64encode(f"ada:{token}".encode()).decode()
    out = r.exchange(exchange("GET", "/private", 200, {"ok": True}, request_headers=(("X-Auth", sent),)))
    assert dict(out.request_headers) == {"X-Auth": PLACEHOLDER}
    entry = dict(out.secrets[0])
    assert entry["user"] == "ada" and entry["issued"] is True  # rebuilt around the fresh token at verify time


def test_luhn():
    assert luhn("4111111111111111") and not luhn("4111111111111112")


def test_a_number_whose_role_is_known_is_no_card_number_whatever_luhn_says():
    # 9830401048575 passes the Luhn check, as a byte range of a chunked upload can.
    assert luhn("9830401048575")
    r = redactor()
    ranged = exchange(
        "PUT",
        "/uploads/1",
        202,
        request_headers=(("Content-Range", "983040-1048575"), ("Range", "bytes=983040-1048575")),
        response_headers=(("Range", "0-1048575"), ("X-Upload-Id", "9830401048575")),
        raw_body=b"",
    )
    out = r.exchange(ranged)
    assert out.request_headers == ranged.request_headers and out.response_headers == ranged.response_headers
    assert not r.found
    body = {
        "id": "4111111111111111",
        "size": "4111111111111111",
        "card": "4111-1111-1111-1111",
        "pan": "4111111111111111",
    }
    out = json.loads(r.exchange(exchange("POST", "/pay", 200, body)).response_body)
    assert out == {"id": "4111111111111111", "size": "4111111111111111", "card": PLACEHOLDER, "pan": PLACEHOLDER}


CURSOR = "eyJvZmZzZXQiOjIwfQAbCdEf0123456789xyzXYZ"  # base64-looking, 32+ characters


def test_an_opaque_cursor_named_like_a_token_is_not_redacted_and_a_real_secret_still_is():
    r = redactor()
    query = (("_token", CURSOR), ("next_token", CURSOR), ("pageToken", CURSOR), ("access_token", "at-1"))
    out = r.exchange(exchange("GET", "/docs", 200, {"next_page_token": CURSOR}, query=query))
    assert out.query == (
        ("_token", CURSOR),
        ("next_token", CURSOR),
        ("pageToken", CURSOR),
        ("access_token", PLACEHOLDER),
    )
    assert json.loads(out.response_body) == {"next_page_token": CURSOR}
    assert r.found == {"query parameter access_token": 1}


def test_ids_are_not_secrets_but_long_keys_whose_name_says_key_are():
    hex32, key32 = "9f86d081884c7d659a2feaa0c55ad015", "0b1e6f9cd2a84f7e9a3c5d7f1e2b4c6d"
    body = {"request_id": hex32, "node": {"id": hex32}, "ids": [hex32], "signing_key": key32, "api_keys": [key32]}
    r = redactor()
    ex = exchange("GET", "/nodes", 200, body, request_headers=(("X-Request-Id", hex32), ("X-Signing-Key", key32)))
    out = r.exchange(ex)
    assert json.loads(out.response_body) == {
        "request_id": hex32,
        "node": {"id": hex32},
        "ids": [hex32],
        "signing_key": PLACEHOLDER,
        "api_keys": [PLACEHOLDER],
    }
    assert dict(out.request_headers) == {"X-Request-Id": hex32, "X-Signing-Key": PLACEHOLDER}
    # A key's value is a secret wherever it goes, even under an id's name (it would reach disk there).
    again = r.exchange(exchange("GET", "/nodes", 200, {"id": key32}))
    assert json.loads(again.response_body) == {"id": PLACEHOLDER}


def test_a_token_sent_back_in_a_path_is_redacted_and_named():
    from recorder.model import Exchange
    from recorder.record.pipeline import Recording, Settings

    rec = Recording(Settings("npm", "registry", Path("unused")))
    login = Exchange(
        "PUT",
        "/-/user/org.couchdb.user:ada",
        (),
        (("Content-Type", "application/json"),),
        b'{"name": "ada", "password": "pw-123456"}',
        201,
        (("Content-Type", "application/json"),),
        b'{"ok": true, "token": "npm_9f8e7d6c5b4a39281706"}',
    )
    logout = Exchange(
        "DELETE",
        "/-/user/token/npm_9f8e7d6c5b4a39281706",
        (),
        (("Authorization", "Bearer npm_9f8e7d6c5b4a39281706"),),
        b"",
        200,
        (("Content-Type", "application/json"),),
        b'{"ok": true}',
    )
    rec.add(login)
    kept = rec.add(logout)
    assert kept.path == "/-/user/token/<redacted>"
    assert dict(kept.secrets[-1]) == {"in": "path", "key": 3, "secret": "token", "issued": True}
    (logout_interaction,) = [i for i in rec.interactions() if i.method == "DELETE"]
    assert logout_interaction.request.generators["path"]["expression"] == "/-/user/token/${token}"


def test_a_token_keeps_its_kind_but_never_the_first_characters_of_a_random_token():
    assert (
        redact_header_value("Authorization", "Bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a")
        == "Bearer ghp_<redacted>"
    )
    assert redact_header_value("Authorization", "Bearer Ab-cD_Xyz0123456789abcdefgh") == "Bearer <redacted>"
    assert redact_header_value("Authorization", "Bearer ab-short") == "Bearer <redacted>"
    assert redact_header_value("Authorization", "Bearer dstok_not-a-real-token") == "Bearer dstok_<redacted>"
    assert redact_header_value("Authorization", "Bearer xoxb-16C7e42F292c6912E7710c8") == "Bearer xoxb-<redacted>"
    assert redact_header_value("Authorization", "Bearer sk_live_16C7e42F292c6912E77") == "Bearer sk_live_<redacted>"
    # words someone chose are part of the secret: none is kept
    assert redact_header_value("Authorization", "Bearer tus-harness-5fA9c0d1e2f3a4b5") == "Bearer <redacted>"


def test_a_value_that_names_itself_a_secret_before_a_colon_is_redacted_wherever_it_is():
    call = {"jsonrpc": "2.0", "id": "q", "method": "aria2.tellActive", "params": ["token:s3cr3t-Rpc-7", ["gid"]]}
    out = redactor().exchange(exchange("POST", "/jsonrpc", 200, {"result": []}, request_body=call))
    assert json.loads(out.request_body)["params"] == [PLACEHOLDER, ["gid"]]
    assert "s3cr3t" not in repr(out)
    assert json.loads(out.request_body)["method"] == "aria2.tellActive"
    assert out.secrets == ((("in", "body"), ("key", ["params", 0]), ("secret", "params")),)  # named by its array


def test_a_body_labelled_text_that_is_not_utf8_goes_through_byte_for_byte():
    data = b"d4:infod6:pieces4:\xff\xfe\x00\x9cee " + JWT.encode()
    ex = exchange(
        "GET", "/export", 200, raw_body=data, response_headers=(("Content-Type", "text/plain; charset=UTF-8"),)
    )
    out = redactor().exchange(ex)
    assert out.response_body == data.replace(JWT.encode(), PLACEHOLDER.encode())


def test_an_empty_value_is_no_secret_and_a_bare_key_after_it_is_redacted_whole():
    # A config answer holds `"password": ""` (none set); a later request sends its API key bare (no scheme).
    r = redactor()
    config = r.exchange(exchange(body={"gui": {"password": "", "apiKey": ""}}))
    assert json.loads(config.response_body) == {"gui": {"password": "", "apiKey": ""}}
    request = r.exchange(exchange(request_headers=(("X-Api-Key", "kP3vQx9TzL2mWn8R"),)))
    assert dict(request.request_headers)["X-Api-Key"] == PLACEHOLDER
    assert "kP3vQx9TzL2mWn8R" not in repr(request)
    assert all("prefix" not in dict(e) for e in request.secrets), request.secrets


def test_a_key_the_consumer_sent_before_a_response_echoed_it_stays_the_consumer_s_not_handed_out():
    # A config answer holds the API key every request sends: the key is given at verify time, not fetched.
    r = redactor()
    key = "kP3vQx9TzL2mWn8RkP3vQx9T"
    config = exchange(request_headers=(("X-Api-Key", key),), body={"gui": {"apiKey": key}})
    first, second = r.exchange(config), r.exchange(config)
    assert key not in repr(first) + repr(second)
    assert all("issued" not in dict(e) for e in (*first.secrets, *second.secrets)), second.secrets


def test_an_xml_element_named_like_a_secret_is_redacted_and_the_rest_stays_byte_for_byte():
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><wsse:Security>'
        "<wsse:UsernameToken><wsse:Username>librarian</wsse:Username>"
        '<wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">shelf-Keeper-7</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soap:Header>"
        "<soap:Body><GetBook><id>12</id></GetBook></soap:Body></soap:Envelope>"
    )
    sent = replace(
        exchange("POST", "/", 200, {"ok": True}),
        request_headers=(("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", '"GetBook"')),
        request_body=envelope.encode(),
    )
    out = redactor().exchange(sent)
    assert "shelf-Keeper-7" not in repr(out)
    assert out.request_body.decode() == envelope.replace("shelf-Keeper-7", PLACEHOLDER)
    assert [dict(e)["secret"] for e in out.secrets] == ["password"]  # what verify asks for: --secret password=
