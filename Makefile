# Two entry points, both of which work on a fresh clone (they set up .venv themselves):
#   make render   render the template with its defaults into rendered/
#   make test     run the template's whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: render test clean

$(BIN)/.installed: requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

render: $(BIN)/.installed
	rm -rf rendered
	$(BIN)/cookiecutter --no-input --output-dir rendered .
	@echo
	@echo "Rendered with the defaults into: $$(ls -d $(CURDIR)/rendered/*)"

test: $(BIN)/.installed
	SAM_CLI_TELEMETRY=0 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) rendered
