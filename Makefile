# SI-MALIK — `make demo` shows it, `make test` proves it.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

.PHONY: install run demo test test-fast lint schemas bench services clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# Starts every process of the three services in the foreground; Ctrl-C stops them all.
run: install
	$(PY) -m deploy.supervise

demo: install
	$(PY) -m deploy.demo

test: install
	$(PYTEST) -q

test-fast: install
	$(PYTEST) -q tests/unit

lint: install
	$(VENV)/bin/ruff check shared services tests deploy bench

# Regenerates shared/contracts/schemas/*.json from the event models.
schemas: install
	$(PY) -m shared.contracts.schemas

bench: install
	$(PY) -m bench

# Starts the machine's local PostgreSQL and RabbitMQ if they are not up.
services:
	bash deploy/ensure-services.sh

clean:
	rm -rf $(VENV) .pytest_cache
