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
# torch alone is about 5.5 GB in the venv: say so up front when the disk is short, rather than pip's bare
# "OSError: [Errno 28] No space left on device" halfway through.
NEED_GB := 8

$(STAMP): pyproject.toml | $(VENV)/bin/python
	@free_gb=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); \
	if [ -n "$$free_gb" ] && [ "$$free_gb" -lt $(NEED_GB) ] 2>/dev/null; then \
		echo "make: setting up $(VENV) needs about $(NEED_GB) GB of free disk (torch is 5.5 GB), but only $$free_gb GB is free in $$(pwd): free some space (df -h .) and run make again; the install may fail" >&2; \
	fi
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
