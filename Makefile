# Two entry points: `make run` (install, prepare the embedded demo data, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test browser clean-data bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Browser tests drive Debian's Chromium; install it when missing.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null)
	@command -v pdftotext >/dev/null || ($(SUDO) apt-get install -y -qq poppler-utils >/dev/null)

run: install
	$(VENV)/bin/observatory prepare
	$(PY) app.py

test: install-test browser
	$(PY) -m pytest -q -p no:cacheprovider --durations=30

# Quick by default (1e5 and 1e6, a few minutes); `make bench BENCH_ARGS=--full` adds 1e7 and the PDF report.
BENCH_ARGS ?=
bench: install-test browser
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean-data:
	rm -rf data/processed/* data/raw/demo
