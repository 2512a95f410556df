# make demo : set up, record the bundled example through the proxy, verify the pact
# make test : set up, run the whole test suite
# make check: the fast loop: the unit layer (no servers, no processes), in well under a minute
# make bench: benchmarks that print figures (not part of make test)
# make docs : the guide (docs/) as a site in site/
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FIXTURES := $(VENV)/.fixtures
# The review page's browser test drives Debian's Chromium through Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
export PACT_DO_NOT_TRACK := true

.PHONY: demo test check bench docs setup clean

setup: $(STAMP) $(CHROMIUM)

$(STAMP): pyproject.toml scripts/bootstrap
	scripts/bootstrap

# Installed only where it is missing, from Debian's packages (as root, or through sudo).
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	@echo "pact-recorder: installing chromium from Debian's packages (the review page's browser test)"
	$(AS_ROOT) apt-get update -qq
	$(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# What only the tests use: a third-party suite's sdist and the real pairs' venvs (not needed by make demo).
$(FIXTURES): $(STAMP) bench/thirdparty/kinto.py bench/thirdparty/radicale.py bench/thirdparty/common.py
	scripts/bootstrap --test-fixtures

demo: $(STAMP)
	$(PY) examples/demo.py

# Two workers: the machine has two cores, and the suite waits on real servers and processes.
test: $(FIXTURES) $(CHROMIUM)
	$(PY) -m pytest -n 2

check: $(STAMP)
	$(PY) -m pytest -m unit -q

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check 'mitmproxy2swagger>=0.15' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) bench/memory.py
	$(PY) bench/memory.py --suite
	$(PY) bench/infer.py
	$(PY) bench/proxy.py
	$(PY) bench/latency.py

docs: $(STAMP)
	$(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) demo-out site .pytest_cache
