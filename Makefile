# The README's commands. Each creates the virtual environment and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench install clean space

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

# The test suite needs about 4 GB of disk (the environment 2.7 GB, warehouses under the temp
# folder); on a full disk pytest dies on its first temporary file with an error that does not
# say why. This says how much is free and stops, naming the folder, where it is too little.
NEED_GB ?= 5
space:
	@$(PYTHON) -c 'import shutil, sys, tempfile; need = $(NEED_GB); \
	free = {d: shutil.disk_usage(d).free / 1e9 for d in (".", tempfile.gettempdir())}; \
	print("disk free: " + ", ".join(f"{d} {gb:.1f} GB" for d, gb in free.items())); \
	short = [d for d, gb in free.items() if gb < need]; \
	sys.exit(f"make: less than {need} GB free in {short[0]}: the tests and the demo need about 4 GB (free some space, or set NEED_GB)") if short else None'

# The browser tests drive Debian's Chromium through its own driver: no browser download.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium /usr/bin/chromedriver
$(CHROMIUM) &:
	$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver

demo: space $(STAMP)
	$(BIN)/shopcast demo

test: space $(STAMP) $(CHROMIUM)
	$(BIN)/pytest

# unit, data and model tests: no Prefect server, no dbt, no real data (under two minutes)
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not dbt and not real_data"

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run --out BENCHMARKS.md

clean:
	rm -rf data .pytest_cache
