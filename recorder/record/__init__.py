"""Recording: the pipeline every front door feeds, and the process around the proxy.

pipeline  the one pipeline: exchange -> redact -> endpoint -> observation -> pact files
worker    the recording process the proxy hands exchanges to
spool     a bounded on-disk queue for when the recording process falls behind
proxy     the lean in-process mitmproxy master
targets   which providers are recorded, and where each listens
ca        the certificate authority for HTTPS in forward mode
"""

__all__ = ["pipeline", "worker", "spool", "proxy", "targets", "ca"]
