# The README's commands. Each creates the virtual environment and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[test]'
	@# pip compiles the installed modules one at a time (100 of its 170 s on 2 cores); compileall
	@# writes the same bytecode on every core. Two files for Python 3.12 (torch's and whenever's)
	@# fail to compile and are never imported on 3.11: bytecode is a cache, so no error stops here.
	$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium through its own driver: no browser download.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium /usr/bin/chromedriver
$(CHROMIUM) &:
	$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver

demo: $(STAMP)
	$(BIN)/shopcast demo

test: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest

# unit, data and model tests: no Prefect server, no dbt, no real data (under two minutes)
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not dbt and not real_data"

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run --out BENCHMARKS.md

clean:
	rm -rf data .pytest_cache
