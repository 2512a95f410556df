"""Bodies that are not JSON (issue 13), judged by the Pact core: uploads replay so that a provider
parsing them accepts them, XML responses verify against themselves and against other values."""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import replace

import pytest
import yaml

from recorder.formats import multipart
from recorder.infer.render import XML_BY_STRUCTURE
from recorder.pact.document import body_document
from recorder.record.pipeline import Recording, Settings
from recorder.secrets.fill import Secrets, fill_step
from recorder.secrets.redact import PLACEHOLDER
from tests.helpers import exchange
from tests.test_fresh_provider import failures, interaction, recorded, verified

BOUNDARY = "----pactrecorder7MA4YWxkTrZu0gW"
UPLOAD = f"multipart/form-data; boundary={BOUNDARY}"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256))


def upload_body(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]]) -> bytes:
    """A multipart body as an HTTP client builds it: form fields, then files (name, file name, type, data)."""
    out = b""
    for name, value in fields:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, filename, ctype, data in files:
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        out += f"{head}Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def uploading(body: bytes, status: int = 201):
    ex = exchange("POST", "/attachments", status, {"ok": True}, request_headers=(("Content-Type", UPLOAD),))
    return replace(ex, request_body=body)


def parsed_upload(headers: dict, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """The parts of an upload as a provider's framework sees them: by name, (file name, type, content)."""
    ctype = next(v for k, v in headers.items() if k.lower() == "content-type")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    return {
        p.get_param("name", header="content-disposition"): (
            p.get_filename(),
            p.get_content_type() if p.get("Content-Type") else None,
            p.get_payload(decode=True),
        )
        for p in message.iter_parts()
    }


def test_a_multipart_upload_replays_so_that_a_provider_parsing_it_accepts_it(tmp_path):
    csv = b"id,name\r\n1,ada\r\n2,grace\r\n"
    fields = [("title", "Quarterly report"), ("password", "s3cret-pass")]
    files = [("file", "report.csv", "text/csv", csv), ("thumb", "t.png", "image/png", PNG)]
    pact = recorded(tmp_path, [uploading(upload_body(fields, files))])
    text = pact.read_text()
    assert "s3cret-pass" not in text
    request = interaction(pact, "POST /attachments returns 201")["request"]
    assert request["body"]["encoded"] == "base64"  # the PNG part is not UTF-8
    assert request["body"]["contentType"] == request["headers"]["Content-Type"][0] == UPLOAD

    seen = []

    def provider(method, path, headers, body):
        parts = parsed_upload(headers, body)
        seen.append(parts)
        expected = {
            "title": (None, None, b"Quarterly report"),
            "password": (None, None, b"given-at-verify"),
            "file": ("report.csv", "text/csv", csv),
            "thumb": ("t.png", "image/png", PNG),
        }
        return (201, {}, {"ok": True}) if parts == expected else (400, {}, {"error": "bad upload"})

    result = verified(pact, provider, secrets=Secrets.from_options({"password": "given-at-verify"}, {}, set()))
    assert result.ok, (failures(result), seen)


def test_a_file_part_larger_than_the_bound_is_cut_and_the_notes_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr("recorder.infer.render.FILE_PART_MAX", 16)
    pact = recorded(tmp_path, [uploading(upload_body([("kind", "log")], [("file", "a.log", "text/plain", b"x" * 40)]))])
    found = interaction(pact, "POST /attachments returns 201")
    assert "request body: file part 'file' (a.log, 40 bytes) cut to its first 16 bytes" in " ".join(
        found["comments"]["text"]
    )

    def provider(method, path, headers, body):
        parts = parsed_upload(headers, body)
        ok = parts["kind"][2] == b"log" and parts["file"] == ("a.log", "text/plain", b"x" * 16)
        return (201, {}, {"ok": True}) if ok else (400, {}, {"error": "bad upload"})

    result = verified(pact, provider)
    assert result.ok, failures(result)


@pytest.mark.unit
def test_a_redacted_upload_field_is_named_and_filled_in_a_setup_step_that_replays_it():
    body = upload_body([("user", "ada"), ("password", PLACEHOLDER)], [("file", "a.txt", "text/plain", b"hi")])
    step = {"method": "POST", "path": "/accounts", "headers": [["Content-Type", UPLOAD]], "status": 201}
    step |= yaml.safe_load(yaml.safe_dump(body_document(body, UPLOAD)))  # as states.yaml stores it
    step["secrets"] = [{"in": "multipart", "key": "password", "secret": "password"}]
    filled = fill_step(step, Secrets.from_options({"password": "real"}, {}, set()))
    parts = parsed_upload({"Content-Type": UPLOAD}, filled["text"].encode())
    assert parts["password"][2] == b"real" and parts["user"][2] == b"ada" and parts["file"][2] == b"hi"


@pytest.mark.unit
def test_the_recorder_names_a_secret_upload_field_for_verify_time(tmp_path):
    recording = Recording(Settings("c", "p", tmp_path))
    kept = recording.add(uploading(upload_body([("api_token", "tok-123"), ("q", "x")], [])))
    assert kept.secrets == ((("in", "multipart"), ("key", "api_token"), ("secret", "api_token")),)
    assert dict((p.name, p.content) for p in multipart.parse(kept.request_body, BOUNDARY)) == {
        "api_token": PLACEHOLDER.encode(),
        "q": b"x",
    }


# -- XML -----------------------------------------------------------------------------------------------

MULTISTATUS = """<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>/cal/{a}.ics</D:href><D:propstat><D:prop>
<D:current-user-privilege-set><D:privilege><D:read/></D:privilege><D:privilege><D:all/></D:privilege>
</D:current-user-privilege-set></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/cal/{b}.ics</D:href><D:propstat><D:prop><D:getetag>"{etag}"</D:getetag></D:prop>
<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"""
XML = (("Content-Type", "application/xml; charset=utf-8"),)


def test_a_multistatus_whose_repeated_elements_differ_verifies_against_itself_and_other_values(tmp_path):
    recorded_xml = MULTISTATUS.format(a="one", b="two", etag="e1").encode()
    ex = exchange("PROPFIND", "/cal/", 207, response_headers=XML, raw_body=recorded_xml)
    pact = recorded(tmp_path, [ex])
    found = interaction(pact, "PROPFIND /cal/ returns 207")
    assert found["comments"]["pactRecorder"]["evidence"]["response.body"]["$"]["by"] == XML_BY_STRUCTURE
    rules = found["response"]["matchingRules"]["body"]
    assert "$" not in rules and rules["$['DAV::multistatus']['DAV::response']['DAV::href']['#text']"]
    assert "<D:href>/cal/one.ics</D:href>" in found["response"]["body"]["content"]  # a mock serves a real one

    def answering(body: bytes, ctype: str = "application/xml; charset=utf-8"):
        return lambda *_: (207, {"Content-Type": ctype}, body)

    itself = verified(pact, answering(recorded_xml))
    assert itself.ok, failures(itself)
    other = verified(pact, answering(MULTISTATUS.format(a="x", b="y", etag="e9").replace("D:all", "D:write").encode()))
    assert other.ok, failures(other)
    not_xml = verified(pact, answering(b"{}", "application/json"))
    assert not not_xml.ok  # the content type is still the contract
    no_etags = verified(pact, answering(re.sub(rb"<D:getetag>.*?</D:getetag>", b"", recorded_xml)))
    assert not no_etags.ok  # and the elements the consumer asked for
