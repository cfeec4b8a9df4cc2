# The course's two commands: `make lab` opens it, `make test` checks it; `make present` shows it.
# Both build .venv on first use (CPU torch from constraints.txt, then -e .[dev])
# and are quick once it is built; the stamp is redone when the inputs change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

.PHONY: lab test bench present install clean hub hub-proxy bench-class

# A classroom server is shared: with another busy process on the machine, PyTorch's OpenMP threads
# spin-wait for the busy core and a notebook's own tensor code ran 15x slower (measured: 100 forward
# passes of the dropout MLP, 0.8 s quiet, 12.3 s beside one busy process; 1.35 s with passive waiting).
# Every kernel, Voilà dashboard and test that these targets start inherits this (read when torch loads).
export OMP_WAIT_POLICY ?= PASSIVE

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt jupyter/overrides.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,hub,deploy]"
	@mkdir -p $(LAB_SETTINGS)
	cp jupyter/overrides.json $(LAB_SETTINGS)/overrides.json
	@touch $(STAMP)

# Jupyter refuses to run as root without --allow-root (containers, these CI-class machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Presenter mode (Voilà, no code, live widgets): opens the gallery of the course's explorers, each its own page
# for a projector (presenter/explorers/, written by presenter/build.py), and every lesson as a dashboard.
# Options from presenter/voila.json (one pre-heated kernel per explorer page: it opens in about a second),
# more through VOILA_ARGS (e.g. "--no-browser --port 8867"). Voilà needs no --allow-root. It serves this folder;
# JUPYTER_PATH adds presenter/jupyter, where the course's Voilà template lives (gallery, projector sizes,
# check cells' printouts hidden).
present: $(STAMP)
	JUPYTER_PATH=$(CURDIR)/presenter/jupyter $(BIN)/voila $(CURDIR) --Voila.config_file_paths=presenter $(VOILA_ARGS)

# Teaching a class: the course on a real JupyterHub on this machine (hub/jupyterhub_config.py says what it is and why
# it is only a try-out). It prints the URL and how to sign in; HUB_ARGS e.g. "--port 8010". JupyterHub's proxy,
# configurable-http-proxy, comes from npm (hub/package-lock.json): Node.js and npm are needed (apt-get install nodejs npm).
HUB_PROXY := hub/node_modules/.bin/configurable-http-proxy

hub-proxy: $(HUB_PROXY)

$(HUB_PROXY): hub/package.json hub/package-lock.json
	cd hub && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

hub: $(STAMP) $(HUB_PROXY)
	$(BIN)/python hub/course_hub.py serve $(HUB_ARGS)

# N simulated students (1, 2, 4, 8, 16) on that hub, each moving notebook 04's sliders: latency, memory, CPU per N
bench-class: $(STAMP) $(HUB_PROXY)
	$(BIN)/python benchmarks/bench_class.py $(BENCH_CLASS_ARGS)

# tests/e2e drive Chromium (/usr/bin/chromium) through JupyterLab and Voilà; skipped without it
test: $(STAMP)
	@# the class tests on JupyterHub need its proxy from npm: installed when npm is here, else those tests say why they skip
	-@$(MAKE) --no-print-directory hub-proxy
	MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 tests notebooks

# bench_all: every target in one process and one table; then each topic's details
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_all.py
	$(BIN)/python benchmarks/bench_weight_decay.py
	$(BIN)/python benchmarks/bench_optimizer_explorer.py
	$(BIN)/python benchmarks/bench_dropout_explorer.py
	@# what a student sees, in Chromium: key press → new pixels, frames while playing, a presenter page's first
	@# interaction; here a missed target fails (in `make test` these tests only record and report)
	WD_E2E_TARGETS=1 $(BIN)/python -m pytest -p no:cacheprovider -q tests/e2e -k "key_press or plays or presenter_explorer_page"

clean:
	rm -rf $(VENV) .pytest_cache wd_helpers.egg-info hub/node_modules
