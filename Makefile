# Two commands: `make run` and `make test`. Everything else is installed by this file.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean moderator

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> installing into $(VENV) (first run takes a few minutes)"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(PY) -m deployments.cli run

test: $(STAMP)
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@$(PY) -m bench $(BENCH_ARGS)

moderator: $(STAMP)
	@$(PY) -m deployments.cli moderator $(PHONE)

clean:
	rm -rf $(VENV) var .pytest_cache
