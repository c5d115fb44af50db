# EgoM2P pipeline. Two set-up commands (README): `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export EGOM2P_DATA ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export TORCH_EXTENSIONS_DIR ?= $(CURDIR)/.torch_extensions

.PHONY: setup home demo test ui validate bench bench-tokenizers bench-model bench-eval clean

setup: $(VENV)/.installed

# ffmpeg and chromium (UI browser tests) from Debian; torch 2.13.0 first so deepspeed/accelerate take the local CPU wheel.
# projectaria-tools (VRS reading for HOT3D/ADT) --no-deps: its core needs only numpy; its declared
# dependencies (jupyter, rerun-sdk, plotly, moviepy, ...) would pull ~1.1 GB.
$(VENV)/.installed: pyproject.toml setup.py
	@command -v ffmpeg >/dev/null || { echo "installing ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg >/dev/null; }
	@command -v chromium >/dev/null || { echo "installing chromium (browser tests of the Dagster UI)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps projectaria-tools==2.3.0
	@touch $@

home:  ## the Dagster instance folder with the project's dagster.yaml (every dagster command needs it)
	@mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: setup home  ## synthesize the embedded world, materialize the whole graph, print the summary
	$(VENV)/bin/python -m egom2p.pipelines.demo

test: setup  ## the whole test suite (plain pytest: the repo root must not shadow HF `tokenizers`)
	$(VENV)/bin/pytest

ui: setup home  ## Dagster UI on http://127.0.0.1:3000 with what the demo materialized
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

validate: setup home
	$(VENV)/bin/dagster definitions validate -w workspace.yaml

bench: setup
	$(VENV)/bin/python benchmarks/bench_curation.py

bench-tokenizers: setup  ## train the tiny tokenizers on a synthetic world, held-out numbers -> RESULTS.md
	$(VENV)/bin/python benchmarks/bench_tokenizers.py

bench-model: setup  ## training step tokens/s + memory (tiny, paper), launchers, loader -> RESULTS.md
	$(VENV)/bin/python benchmarks/bench_model.py

bench-eval: setup  ## pretrain + task models + evaluation on the benchmark world -> RESULTS.md
	$(VENV)/bin/python benchmarks/bench_eval.py

clean:
	rm -rf data .dagster_home
