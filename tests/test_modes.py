"""Several providers in one recording, forward-proxy mode, and a recorder the consumer cannot tell apart
from the provider (redirects and generated links keep it on the proxy; any method goes through)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from examples import procs
from examples.jsonserver import JsonHandler, serving
from examples.shop.consumer import exercise as shop_exercise
from examples.users.consumer import exercise as users_exercise
from tests.conftest import CLI, RunningProvider, cli, record_through
from tests.test_shop_contract import Shop


class Links(JsonHandler):
    """Builds absolute URLs from the Host it was called with, as web frameworks do."""

    def do_GET(self):
        base = f"http://{self.headers['Host']}"
        if self.path == "/things":
            self.send_response(307)
            self.send_header("Location", f"{base}/things/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/things/"):
            page = int(self.path.partition("page=")[2] or 1)
            nxt = f"{base}/things/?page={page + 1}" if page < 2 else None
            self.send_json(
                200, {"items": [{"id": page}], "next": nxt}, {"Link": f'<{base}/things/?page=2>; rel="next"'}
            )
        else:
            self.send_json(404, {})

    def do_PROPFIND(self):
        self.send_json(207, {"props": {"name": "things"}})


@pytest.fixture
def links():
    with serving(Links) as url:
        yield url


def record_args(tmp_path, *options: str) -> list[str]:
    """`pact-recorder record` for consumer `web`, on free ports, writing into tmp_path."""
    return [
        CLI,
        "record",
        "--consumer",
        "web",
        *options,
        "--listen",
        "127.0.0.1:0",
        "--out",
        str(tmp_path),
        "--confdir",
        str(tmp_path / "conf"),
    ]


def pact(out, provider):
    return json.loads((out / f"web-{provider}.json").read_text())


def test_two_providers_each_on_its_own_port_give_one_pact_each(tmp_path):
    users, shop = RunningProvider(), Shop()
    urls: dict[str, str] = {}

    def both(_url):
        users_exercise(urls["users"])
        shop_exercise(urls["shop"])

    args = record_args(tmp_path, "--target", f"users={users.url}", "--target", f"shop={shop.url}")
    proxy = procs.start(args)
    try:
        urls["users"], urls["shop"] = proxy.urls(2)  # in the order of the --target options
        both(None)
    finally:
        code = proxy.stop()
        users.stop()
        shop.stop()
    assert code == 0, proxy.output
    assert len(pact(tmp_path, "users")["interactions"]) == 4
    assert len(pact(tmp_path, "shop")["interactions"]) == 3


def test_forward_mode_records_the_named_hosts_and_passes_the_rest_through(tmp_path):
    users, shop = RunningProvider(), Shop()
    user_port = users.url.rsplit(":", 1)[1]

    def through_proxy(proxy_url):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
        with opener.open(f"{users.url}/users/101", timeout=10) as r:
            assert json.loads(r.read())["id"] == 101
        with opener.open(f"{shop.url}/orders?page=1&per_page=1", timeout=10) as r:
            assert r.status == 200

    try:
        proxy = record_through(
            record_args(tmp_path, "--forward", "--provider", f"users=127.0.0.1:{user_port}"),
            through_proxy,
        )
    finally:
        users.stop()
        shop.stop()
    assert [i["description"] for i in pact(tmp_path, "users")["interactions"]] == ["GET /users/{id} returns 200"]
    assert "passed through unrecorded (not a recorded provider): 127.0.0.1 (1)" in proxy.output
    assert not (tmp_path / "web-shop.json").exists()


def test_redirects_and_generated_links_keep_the_consumer_on_the_recorder(links, tmp_path):
    def follow(url):
        with urllib.request.urlopen(f"{url}/things", timeout=10) as r:  # 307 -> /things/ (absolute URL)
            page = json.loads(r.read())
        assert page["next"].startswith(url)  # built from the Host the consumer used: the recorder
        with urllib.request.urlopen(page["next"], timeout=10) as r:
            assert json.loads(r.read())["items"] == [{"id": 2}]
        req = urllib.request.Request(f"{url}/things", method="PROPFIND")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 207

    proxy = record_through(
        record_args(tmp_path, "--provider", "links", "--target", links),
        follow,
    )
    described = {i["description"]: i for i in pact(tmp_path, "links")["interactions"]}
    assert set(described) == {
        "GET /things returns 200",  # what the consumer asked for, with the response it got after the 307
        "GET /things/ returns 200",
        "PROPFIND /things returns 207",
    }
    # The verifier follows redirects, so the 307 itself could never verify: it is left out, and said so.
    assert "skipped 1: excluded by select rule 'followed-redirects'" in proxy.output
    verified = cli("verify", str(tmp_path / "web-links.json"), "--provider-url", links)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # With the rule switched off, the 307 is in the pact, and the verifier (which follows it) fails it.
    rules = tmp_path / "keep-redirects.yaml"
    rules.write_text("select:\n  - {name: followed-redirects, enabled: false}\n")
    kept = tmp_path / "kept"
    record_through(record_args(kept, "--provider", "links", "--target", links, "--rules", str(rules)), follow)
    failed = cli("verify", str(kept / "web-links.json"), "--provider-url", links)
    assert failed.returncode == 1
    assert "FAIL  GET /things returns 307" in failed.stdout
    assert "the Pact verifier follows redirects" in failed.stdout


def self_signed(tmp_path):
    """A certificate and key for 127.0.0.1, signed by themselves (as test environments have)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem, key_pem = tmp_path / "provider.pem", tmp_path / "provider.key"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem, key_pem


def test_https_through_the_forward_proxy_with_the_recorder_ca(tmp_path):
    import ssl
    import subprocess

    pem, key = self_signed(tmp_path)
    users = RunningProvider()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem, key)
    users.server.socket = context.wrap_socket(users.server.socket, server_side=True)
    port = users.url.rsplit(":", 1)[1]
    bundle = tmp_path / "bundle.pem"
    ca = subprocess.run(
        [CLI, "ca", "--confdir", str(tmp_path / "conf"), "--bundle", str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ca.returncode == 0 and bundle.is_file(), ca.stdout + ca.stderr

    def over_https(proxy_url):
        trusted = ssl.create_default_context(cafile=str(bundle))  # system CAs + the recorder's
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": proxy_url}), urllib.request.HTTPSHandler(context=trusted)
        )
        with opener.open(f"https://127.0.0.1:{port}/users/101", timeout=10) as r:
            assert json.loads(r.read())["name"] == "Ada Lovelace"

    try:
        record_through(
            record_args(tmp_path, "--forward", "--provider", f"secure=127.0.0.1:{port}", "--upstream-ca", str(pem)),
            over_https,
        )
    finally:
        users.stop()
    assert [i["description"] for i in pact(tmp_path, "secure")["interactions"]] == ["GET /users/{id} returns 200"]
