"""A pytest plugin prune puts into the consumer's suite: it tells the replay which test is running and which
failed, so that a failing run implicates only the interactions its failing tests used.

It is loaded by its own module name through PYTEST_PLUGINS, from a folder of its own on PYTHONPATH (prune
copies this file there): whatever Python the suite runs under imports it, and nothing of the recorder.
Standard library only, Python 3.6 or later. It says nothing in an xdist worker (tests there run side by
side: the replay could not tell whose requests are whose) and never fails a test: a replay that does not
answer is ignored.
"""

import contextlib
import json
import os
import urllib.request

URL = os.environ.get("PACT_RECORDER_PROBE_URL", "")
PATH = "/_pact-recorder/test"
_silent = [False]


def pytest_configure(config):
    # An xdist worker's config has `workerinput` (its environment may be inherited from an outer run).
    _silent[0] = hasattr(config, "workerinput")


def _say(message):
    if not URL or _silent[0]:
        return
    request = urllib.request.Request(
        URL + PATH, data=json.dumps(message).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with contextlib.suppress(Exception):  # a probe never breaks the suite it watches
        urllib.request.urlopen(request, timeout=5).close()


def pytest_runtest_logstart(nodeid, location):
    _say({"test": nodeid})


def pytest_runtest_logreport(report):
    if report.failed:
        _say({"test": report.nodeid, "failed": True})


def pytest_runtest_logfinish(nodeid, location):
    _say({"test": None})
