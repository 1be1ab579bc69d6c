# ticketflow — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow faults lint typecheck bench migrate clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "ticketflow needs Python 3.11+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ticketflow dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest

# Tests too slow for every run (a broadcast to 1,000 linked tickets): `-m slow`.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow -p no:cacheprovider -s

# The fault suite: real processes killed, stopped and restarted; each case prints its figures.
faults: $(STAMP)
	$(BIN)/pytest faults -p no:cacheprovider -s

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

migrate: $(STAMP)
	$(BIN)/ticketflow migrate

clean:
	rm -rf $(VENV) build *.egg-info
