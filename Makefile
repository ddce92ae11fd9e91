# Two commands: `make run` and `make test`. Everything else is installed by this file.
PYTHON ?= python3
# `make VENV=/tmp/fresh install` tries a fresh install beside the working .venv.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean moderator lock

# Exact versions from the lock files, so a laptop, CI and every cluster node run the same code;
# then the project itself without resolving again. requirements.lock: a server's packages;
# requirements-dev.lock: those plus the `local` (embedded PostgreSQL/Redis for run and test)
# and `dev` (tests, benchmarks) extras.
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> installing into $(VENV) (first run takes a few minutes)"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements-dev.lock
	@$(PY) -m pip install --quiet --no-deps -e '.[local,dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(PY) -m deployments.cli run

test: $(STAMP)
	@$(PY) -m pytest $(PYTEST_ARGS)

# Ruff (lint rules and formatting) over the tree, mypy over the shipped packages; the
# configuration of both is in pyproject.toml. `ruff format .` fixes what the second step reports.
lint: $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy

bench: $(STAMP)
	@$(PY) -m bench $(BENCH_ARGS)

moderator: $(STAMP)
	@$(PY) -m deployments.cli moderator $(PHONE)

# After changing dependencies in pyproject.toml: re-resolve both locks (existing pins are kept
# unless they conflict; delete a line to upgrade that package), then `make install`.
UV_TOOL := var/lock-tool
UV_COMPILE := $(UV_TOOL)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--annotation-style line --custom-compile-command 'make lock' -q
lock:
	@test -x $(UV_TOOL)/bin/uv || { $(PYTHON) -m venv $(UV_TOOL) && $(UV_TOOL)/bin/pip install --quiet uv==0.13.9; }
	@$(UV_COMPILE) -o requirements.lock
	@$(UV_COMPILE) --extra local --extra dev -c requirements.lock -o requirements-dev.lock
	@sed -i -e 's/, -c requirements.lock//; s/-c requirements.lock, //; s/  # via -c requirements.lock$$//' requirements-dev.lock

clean:
	rm -rf $(VENV) var .pytest_cache
