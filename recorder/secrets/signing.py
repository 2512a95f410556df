"""Computed credentials: requests signed with a key (AWS Signature Version 4), one secret per key.

A signing client puts a new signature in every request (it covers the time, the path and the body),
so redacting each one as a secret of its own would ask a verification for thousands of values nobody
has. What the provider needs is the key: a signed request is recognised by its scheme, named after the
scheme and the key id (`aws_secret_access_key`, a second key `aws_secret_access_key_2`), and at verify
time every request is signed afresh with that key (`verify.provider_relay`), by botocore's signer,
not ours.

    >>> s = signature("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/s3/"
    ...               "aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79")
    >>> s.key_id, s.region, s.service
    ('AKIDEXAMPLE', 'eu-west-1', 's3')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

SIGV4 = "aws-sigv4"
SECRET_FIELD = "aws_secret_access_key"  # what a signing key's secret is called (a second key: ..._2)
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/[0-9]{8}/([^/]+)/([^/]+)/aws4_request\b")
# The scheme's standard environment variables (botocore's, the CLIs'), used when --secret does not say.
ENVIRONMENT = {"key_id": "AWS_ACCESS_KEY_ID", "secret": "AWS_SECRET_ACCESS_KEY", "token": "AWS_SESSION_TOKEN"}
# What `Secrets.value` puts where a signature was, for the relay: sign this request with that key.
MARK = "pact-recorder-sign-with="
# Headers a signer sets itself: the relay drops the recorded ones before signing anew.
SIGNER_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})


@dataclass(frozen=True)
class Signature:
    scheme: str
    key_id: str
    region: str
    service: str


def signature(header: str, value: str) -> Signature | None:
    """The signing scheme and key a request header carries; None for anything else."""
    if header.lower() != "authorization" or not (m := _SIGV4.match(value)):
        return None
    return Signature(SIGV4, *m.groups())


def entry_fields(s: Signature) -> tuple[tuple[str, str], ...]:
    """What a redacted signature's entry says besides where it was and the secret's name."""
    return ("signed", s.scheme), ("key_id", s.key_id), ("region", s.region), ("service", s.service)


def signed(entry: dict) -> bool:
    return bool(entry.get("signed"))


def marker(entry: dict) -> str:
    """The Authorization value that asks the relay to sign a request with the key of `entry`, for its
    request's own region and service (one key signs for S3, SQS, ... alike)."""
    return f"AWS4-HMAC-SHA256 {MARK}{entry['secret']}/{entry.get('region', '')}/{entry.get('service', '')}"


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
    if (secret := given.get(entry["secret"])) is not None:
        return entry.get("key_id", ""), secret, given.get("aws_session_token")
    if (secret := os.environ.get(ENVIRONMENT["secret"])) is not None:
        key_id = os.environ.get(ENVIRONMENT["key_id"]) or entry.get("key_id", "")
        return key_id, secret, os.environ.get(ENVIRONMENT["token"])
    return None


def sign(entry: dict, given: dict[str, str], method: str, url: str, headers: dict[str, str], body: bytes) -> dict:
    """The headers of a request to `url`, signed afresh with the key `entry` names (botocore's signer:
    S3's signs the payload's hash as S3 expects). ValueError when botocore is not installed."""
    try:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ValueError(
            "verifying requests signed with AWS Signature V4 needs botocore: pip install 'pact-recorder[aws]'"
        ) from None
    key_id, secret, token = credentials(entry, given) or ("", "", None)
    kept = {k: v for k, v in headers.items() if k.lower() not in SIGNER_HEADERS}
    request = AWSRequest(method=method, url=url, data=body, headers=kept)
    signer = S3SigV4Auth if entry.get("service") == "s3" else SigV4Auth
    signer(Credentials(key_id, secret, token), entry.get("service", ""), entry.get("region", "")).add_auth(request)
    return dict(request.headers.items())
