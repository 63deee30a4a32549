# Two entry points, both of which work on a fresh clone (they set up .venv themselves):
#   make render   render the template with its defaults into rendered/
#   make test     run the template's whole test suite
# and `make lock`, which regenerates the rendered project's uv.lock (scripts/lock.py), and
# `make contract`, which regenerates its openapi.json (scripts/contract.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv, pinned in requirements-test.txt, installs the test tools (pip only where uv cannot be
# had: no wheel for this platform, or no index). The suite needs it anyway: uv.lock.
UV_PIN := $(shell sed -n 's/^uv==//p' requirements-test.txt)

.PHONY: render test lock contract clean

$(BIN)/.installed: requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_PIN)"; then \
		$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-test.txt; \
	else \
		echo "uv $(UV_PIN) cannot be installed: installing with pip" >&2; \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -r requirements-test.txt; \
	fi
	touch $@

render: $(BIN)/.installed
	rm -rf rendered
	$(BIN)/cookiecutter --no-input --output-dir rendered .
	@echo
	@echo "Rendered with the defaults into: $$(ls -d $(CURDIR)/rendered/*)"

test: $(BIN)/.installed
	SAM_CLI_TELEMETRY=0 $(BIN)/python -m pytest

lock: $(BIN)/.installed
	$(BIN)/python scripts/lock.py $(ARGS)

contract: $(BIN)/.installed
	$(BIN)/python scripts/contract.py

clean:
	rm -rf $(VENV) rendered
