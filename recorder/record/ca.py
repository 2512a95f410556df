"""The recorder's certificate authority (mitmproxy's), for recording HTTPS in forward mode.

A consumer trusts it through a bundle that joins the system CAs and ours (only ours would break every
other HTTPS call it makes): requests reads REQUESTS_CA_BUNDLE, httpx and urllib read SSL_CERT_FILE.
"""

from __future__ import annotations

import ssl
from pathlib import Path

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def ca_certificate(confdir: Path) -> Path:
    """The CA certificate mitmproxy uses from `confdir`, created there on first use (as mitmproxy does)."""
    from mitmproxy.certs import CertStore

    confdir = confdir.expanduser()
    cert = confdir / "mitmproxy-ca-cert.pem"
    if not cert.is_file():
        confdir.mkdir(parents=True, exist_ok=True)
        CertStore.from_store(confdir, "mitmproxy", 2048)
    return cert


def system_bundle() -> Path | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def write_bundle(confdir: Path, dest: Path) -> Path:
    """System CAs plus the recorder's CA, in one PEM file."""
    parts = [p.read_text() for p in (system_bundle(), ca_certificate(confdir)) if p is not None]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(part.rstrip("\n") for part in parts) + "\n")
    return dest
