"""Reading a .mitm file for `infer` (capture.readers.read_parts): each flow's state goes into the parts recording
needs without building the flow (capture.state_parts), which halves the reading. It must give what
mitmproxy's FlowReader and capture.flow_parts give, flow for flow, odd flows and broken files included."""

from __future__ import annotations

import gzip
import json

import pytest
from mitmproxy import http, io
from mitmproxy.test import tflow

from recorder.capture.flows import flow_parts
from recorder.capture.parts import exchange_from_parts
from recorder.capture.readers import PartialCapture, read_flows, read_parts
from tests.test_fast_path import DATA

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it


def flows() -> list:
    """HTTP flows as mitmdump writes them, and the odd ones a capture holds."""
    plain = tflow.tflow(resp=http.Response.make(200, json.dumps({"id": 7}), {"Content-Type": "application/json"}))
    http2 = tflow.tflow(resp=True)
    http2.request.http_version, http2.request.authority = "HTTP/2.0", "api.example:8443"
    idna = tflow.tflow(resp=True)
    idna.request.authority = "bücher.example"
    raw_path = tflow.tflow(resp=True)
    raw_path.request.data.path = b"/caf\xe9/items?q=\xff"  # not UTF-8: kept as mitmproxy reads it
    repeated = tflow.tflow(resp=True)
    repeated.request.headers = http.Headers([(b"Accept", b"a/b"), (b"accept", b"c/d"), (b":authority", b"x")])
    repeated.response.headers = http.Headers([(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")])
    streamed = tflow.tflow(resp=True)
    streamed.request.data.content = None  # bodies streamed past unrecorded
    streamed.response.data.content = None
    zipped = tflow.tflow(resp=http.Response.make(200, b"", {"Content-Encoding": "gzip"}))
    zipped.response.raw_content = gzip.compress(b'{"a": 1}')
    return [plain, http2, idna, raw_path, repeated, streamed, zipped, tflow.tflow(err=True), tflow.tflow(ws=True),
            tflow.tflow(resp=True, err=True), tflow.ttcpflow(), tflow.tudpflow(), tflow.tdnsflow()]  # fmt: skip


def written(path, items) -> None:
    with open(path, "wb") as f:
        writer = io.FlowWriter(f)
        for item in items:
            writer.add(item)


def test_a_mitm_file_reads_into_the_parts_that_mitmproxys_flows_give(tmp_path):
    path = tmp_path / "capture.mitm"
    written(path, flows())

    expected = [flow_parts(f) for f in read_flows(path)]
    assert list(read_parts(path)) == expected
    reasons = [p for p in expected if isinstance(p, str)]
    assert [r.split(" (")[0] for r in reasons] == ["no response from the provider", "websocket", *["not HTTP"] * 3]
    exchanges = [exchange_from_parts(p) for p in expected[:7]]
    assert [e.host for e in exchanges][1:3] == ["api.example", "bücher.example"]
    assert exchanges[6].response_body == b'{"a": 1}'


@pytest.mark.parametrize("har", ["chrome.har", "firefox.har"])
def test_a_har_file_reads_as_before(har):
    assert list(read_parts(DATA / har)) == [flow_parts(f) for f in read_flows(DATA / har)]


def test_a_broken_file_says_the_same_as_flowreader(tmp_path):
    whole = tmp_path / "whole.mitm"
    written(whole, flows()[:3])
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(whole.read_bytes()[:-40])  # a recording killed mid-write
    with pytest.raises(PartialCapture) as new:
        list(read_parts(cut))
    with pytest.raises(PartialCapture) as old:
        list(read_flows(cut))
    assert str(new.value) == str(old.value)
    assert "breaks off after 2 flow(s)" in str(new.value)

    garbage = tmp_path / "garbage.mitm"
    garbage.write_bytes(b"12:not a flow,")
    with pytest.raises(ValueError, match="not a readable .mitm flow file or HAR file") as new:
        list(read_parts(garbage))
    with pytest.raises(ValueError) as old:
        list(read_flows(garbage))
    assert str(new.value) == str(old.value)
