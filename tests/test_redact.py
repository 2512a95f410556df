from recorder.headers import HeaderPolicy
from recorder.redact import redact
from recorder.rules import defaults
from tests.helpers import exchange


def test_credentials_in_headers_never_survive_redaction():
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    ex = exchange(
        request_headers=(
            ("Authorization", f"Bearer {secret}"),
            ("Cookie", "sid=s3cr3t; theme=dark"),
            ("X-Api-Key", "k-123456"),
            ("Accept", "application/json"),
        ),
        response_headers=(("Set-Cookie", "sid=n3w; Path=/; HttpOnly"),),
    )
    out = redact(ex, HeaderPolicy(defaults()).secret)
    assert dict(out.request_headers) == {
        "Authorization": "Bearer <redacted>",
        "Cookie": "sid=<redacted>; theme=<redacted>",
        "X-Api-Key": "<redacted>",
        "Accept": "application/json",
    }
    assert dict(out.response_headers) == {"Set-Cookie": "sid=<redacted>"}
    assert not any(s in repr(out) for s in (secret, "s3cr3t", "k-123456", "n3w"))
