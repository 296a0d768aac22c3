# make demo: set up .venv and run the main job on the built-in dataset.
# make test: set up .venv and run the test suite on 2 processes (pytest-xdist; tests share no state).
# make serve: the local web app on the newest pipeline (http://127.0.0.1:7860).
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench serve

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)

# Reinstall only when the project metadata changed since the last install.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/artstyle run --profile demo

serve: $(STAMP)
	$(VENV)/bin/artstyle serve

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n 2

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/data_pipeline.py

clean:
	rm -rf runs .pytest_cache
