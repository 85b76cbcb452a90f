# One entry point for people and CI. Every target bootstraps .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SEED   ?= 1
FAULTS ?= 30
RATE   ?= 5000
SECONDS ?= 20
PY_SPY ?=
SIGN_INS ?=

.PHONY: up test lint bench bench-history profile chaos compose-check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

up: $(STAMP)
	$(BIN)/ecrm up

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/ecrm bench --record bench

bench-history: $(STAMP)
	$(BIN)/python -m bench.history $(if $(LAST),--last $(LAST))

profile: $(STAMP)
	$(BIN)/python -m bench.profile --rate $(RATE) --seconds $(SECONDS) $(if $(PY_SPY),--py-spy $(PY_SPY)) $(if $(CREATES),--creates) $(if $(SIGN_INS),--sign-ins $(SIGN_INS)) $(if $(LONE),--lone $(LONE)) $(if $(ORDERS),--orders $(ORDERS)) $(if $(KNOWN),--known) $(if $(VISITORS),--visitors $(VISITORS)) $(if $(SEGMENTS),--segments $(SEGMENTS)) $(if $(MAILS),--mails $(MAILS)) $(if $(SEND_RATE),--send-rate $(SEND_RATE)) $(if $(SMTP_CONNECTIONS),--smtp-connections $(SMTP_CONNECTIONS)) $(if $(RELAY_RTT_MS),--relay-rtt-ms $(RELAY_RTT_MS))

chaos: $(STAMP)
	$(BIN)/python -m tests.reliability.chaos --seed $(SEED) --faults $(FAULTS)

compose-check: $(STAMP)
	$(BIN)/python -m pytest -q tests/deploy

clean:
	rm -rf $(VENV) .ecrm .pytest_cache
