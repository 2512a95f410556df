"""Computed credentials: requests signed with a key, one secret per key: AWS Signature Version 4, the
Shared Key of cloud storage accounts (`SharedKey ACCOUNT:SIGNATURE`, Azure Storage and its emulators), and
HTTP Digest authentication (RFC 7616: `Digest username="...", nonce="...", response="..."`), whose answer to
a challenge is computed from the account's password.

A signing client puts a new signature in every request (it covers the time, the path and the body),
so redacting each one as a secret of its own would ask a verification for thousands of values nobody
has. What the provider needs is the key: a signed request is recognised by its scheme, named after the
scheme and the key id (`aws_secret_access_key`, a second key `aws_secret_access_key_2`;
`storage_account_key`), and at verify time every request is signed afresh with that key
(`verify.provider_relay`), by the scheme's own well-kept signer (botocore's, azure-storage-blob's), not ours.
A Digest answer is the same for a password: it answers a nonce the server made (and signed, or remembers),
so no recorded answer is valid twice; the secret is the account's password (`password`, a second account's
`password_2`), and the relay answers each challenge the provider sends afresh (the standard library's
Digest handler computes the answer).

    >>> s = signature("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/s3/"
    ...               "aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79")
    >>> s.scheme, s.key_id, s.region, s.service
    ('aws-sigv4', 'AKIDEXAMPLE', 'eu-west-1', 's3')
    >>> signature("Authorization", "SharedKey devstoreaccount1:zYSqzI5R7t5Apr/mXxvzXlKnv1CKBhUywR7JuO5+T3Q=")
    Signature(scheme='shared-key', key_id='devstoreaccount1', region='', service='')
    >>> signature("Authorization", 'Digest username="ann", realm="books", nonce="4074:cc20", uri="/a", '
    ...           'response="5d672d79", qop=auth, nc=00000001, cnonce="9a3f"')
    Signature(scheme='http-digest', key_id='ann', region='books', service='')
"""

from __future__ import annotations

import os
import re
import secrets
import urllib.request
from dataclasses import dataclass
from email.utils import formatdate

SIGV4, SHARED_KEY, DIGEST = "aws-sigv4", "shared-key", "http-digest"
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/[0-9]{8}/([^/]+)/([^/]+)/aws4_request\b")
_SHARED_KEY = re.compile(r"^SharedKey +([^:\s]+):\S+$")


@dataclass(frozen=True)
class Scheme:
    field: str  # what a signing key's secret is called (a second key: ..._2)
    environment: dict[str, str]  # the scheme's standard environment variables, used when --secret does not say
    extra: str  # the optional extra that installs its signer
    signer_headers: frozenset[str]  # headers a signer sets itself: the relay drops the recorded ones first
    words: str  # the Authorization value's first word


SCHEMES = {
    SIGV4: Scheme(
        "aws_secret_access_key",
        {"key_id": "AWS_ACCESS_KEY_ID", "secret": "AWS_SECRET_ACCESS_KEY", "token": "AWS_SESSION_TOKEN"},
        "aws",
        frozenset({"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}),
        "AWS4-HMAC-SHA256",
    ),
    SHARED_KEY: Scheme(
        "storage_account_key",
        {"key_id": "AZURE_STORAGE_ACCOUNT", "secret": "AZURE_STORAGE_KEY"},
        "azure",
        frozenset({"authorization", "x-ms-date", "date"}),
        "SharedKey",
    ),
    DIGEST: Scheme("password", {}, "", frozenset({"authorization"}), "Digest"),
}
# What `Secrets.value` puts where a signature was, for the relay: sign this request with that key.
MARK = "pact-recorder-sign-with="


@dataclass(frozen=True)
class Signature:
    scheme: str
    key_id: str
    region: str
    service: str


def signature(header: str, value: str) -> Signature | None:
    """The signing scheme and key a request header carries; None for anything else."""
    if header.lower() != "authorization":
        return None
    if m := _SIGV4.match(value):
        return Signature(SIGV4, *m.groups())
    if m := _SHARED_KEY.match(value):
        return Signature(SHARED_KEY, m.group(1), "", "")
    if (fields := digest_fields(value)) is not None and fields.get("username") and fields.get("response"):
        return Signature(DIGEST, fields["username"], fields.get("realm", ""), "")
    return None


def digest_fields(value: str) -> dict[str, str] | None:
    """The parameters of a `Digest ...` header value (an answer or a challenge), else None."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest" or not rest.strip():
        return None
    return urllib.request.parse_keqv_list(p for p in urllib.request.parse_http_list(rest) if "=" in p)


def digest(entry: dict) -> bool:
    """Is `entry` the password of Digest answers (answered per challenge by the relay, not signed)?"""
    return entry.get("signed") == DIGEST


def entry_fields(s: Signature) -> tuple[tuple[str, str], ...]:
    """What a redacted signature's entry says besides where it was and the secret's name."""
    return ("signed", s.scheme), ("key_id", s.key_id), ("region", s.region), ("service", s.service)


def signed(entry: dict) -> bool:
    return bool(entry.get("signed"))


def scheme(entry: dict) -> Scheme:
    return SCHEMES.get(entry.get("signed", ""), SCHEMES[SIGV4])


def marker(entry: dict) -> str:
    """The Authorization value that asks the relay to sign a request with the key of `entry`, for its
    request's own region and service (one key signs for S3, SQS, ... alike)."""
    words = scheme(entry).words
    return f"{words} {MARK}{entry['secret']}/{entry.get('region', '')}/{entry.get('service', '')}"


def marked(value: str, entries: dict[str, dict]) -> dict | None:
    """The entry (with the request's own region and service) an Authorization marker names, else None."""
    if MARK not in value:
        return None
    name, _, scope = value.partition(MARK)[2].strip().partition("/")
    region, _, service = scope.partition("/")
    return {**entries[name], "region": region, "service": service} if name in entries else None


def credentials(entry: dict, given: dict[str, str]) -> tuple[str, str, str | None] | None:
    """(key id, secret key, session token) for a signed entry: the secret from --secret, else the
    scheme's environment; the key id from the environment where the secret came from it, else the one
    recorded (a key id names the key; it is no secret). None when no secret key is known."""
    environment = scheme(entry).environment
    if (secret := given.get(entry["secret"])) is not None:
        return entry.get("key_id", ""), secret, given.get("aws_session_token")
    if "secret" in environment and (secret := os.environ.get(environment["secret"])) is not None:
        key_id = os.environ.get(environment["key_id"]) or entry.get("key_id", "")
        return key_id, secret, os.environ.get(token) if (token := environment.get("token")) else None
    return None


def sign(entry: dict, given: dict[str, str], method: str, url: str, headers: dict[str, str], body: bytes) -> dict:
    """The headers of a request to `url`, signed afresh with the key `entry` names, by the scheme's signer.
    ValueError when that signer is not installed."""
    key_id, secret, token = credentials(entry, given) or ("", "", None)
    kept = {k: v for k, v in headers.items() if k.lower() not in scheme(entry).signer_headers}
    try:
        if entry.get("signed") == SHARED_KEY:
            return _shared_key(key_id, secret, method, url, kept, body)
        return _sigv4(entry, key_id, secret, token, method, url, kept, body)
    except ImportError:
        used = scheme(entry)
        raise ValueError(
            f"verifying requests signed {used.words} needs its signer: pip install 'pact-recorder[{used.extra}]'"
        ) from None


class _Answers(urllib.request.AbstractDigestAuthHandler):
    """The standard library's Digest handler, asked only for its answer to a challenge (it counts `nc` per nonce)."""


def digest_answerer(entry: dict, given: dict[str, str]):
    """A function (method, url, challenge header value) -> the `Authorization` answering that challenge as the
    account `entry` names, with the password given for it (made up for an answer the provider refused when
    recorded: refused again); None when the challenge is no Digest one it can answer."""
    user, password = entry.get("key_id", ""), (credentials(entry, given) or ("", "", None))[1]
    if entry.get("refused"):
        password = secrets.token_urlsafe(18)
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    answers = _Answers(passwords)

    def answer(method: str, url: str, challenge: str) -> str | None:
        fields = digest_fields(challenge)
        if not fields or "nonce" not in fields:
            return None
        passwords.add_password(None, url, user, password)
        request = urllib.request.Request(url, method=method)
        found = answers.get_authorization(request, fields)
        return f"Digest {found}" if found else None

    return answer


def _sigv4(entry: dict, key_id: str, secret: str, token: str | None, method: str, url: str, headers: dict, body: bytes):
    """botocore's signer (S3's signs the payload's hash as S3 expects)."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    signer = S3SigV4Auth if entry.get("service") == "s3" else SigV4Auth
    signer(Credentials(key_id, secret, token), entry.get("service", ""), entry.get("region", "")).add_auth(request)
    return dict(request.headers.items())


def _shared_key(account: str, key: str, method: str, url: str, headers: dict, body: bytes) -> dict:
    """azure-storage-blob's Shared Key policy, on a request dated now (a signature covers its date, and the
    length the relay sends)."""
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest
    from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

    dated = headers | {"x-ms-date": formatdate(usegmt=True)} | ({"Content-Length": str(len(body))} if body else {})
    request = HttpRequest(method, url, headers=dated)
    SharedKeyCredentialPolicy(account, key).on_request(PipelineRequest(request, PipelineContext(None)))
    return {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
