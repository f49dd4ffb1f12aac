# One entry point for people and CI. `make run` and `make test` each set everything up first.
# The torch pin is installed before anything else: any other torch requirement would pull
# several GB of CUDA packages on this kind of machine.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_PIN := torch==2.13.0
EXAMPLE ?= resources/examples/mnist_cnn.json

.PHONY: setup run test test-fast lint bench screenshots clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet $(TORCH_PIN)
	$(PIP) install --quiet -e '.[test]'
	touch $@

# Opens the editor on an example. Without a display (a server, CI) it renders the window
# offscreen to runs/app.png instead, and says how to see it live (xvfb-run or a desktop).
run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(VENV)/bin/torchloom gui $(EXAMPLE); \
	else \
		echo "No display (DISPLAY is not set): rendering the window offscreen to runs/app.png."; \
		echo "On a desktop 'make run' opens the window; on a server try: xvfb-run -a make run"; \
		QT_QPA_PLATFORM=offscreen $(VENV)/bin/torchloom gui $(EXAMPLE) --screenshot runs/app.png; \
	fi

lint: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check engine gui tests bench docs

# One worker per core (tests/conftest.py gives each one torch thread).
test: setup lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto --dist worksteal

test-fast: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto --dist worksteal -m "not slow" -q

screenshots: setup
	for f in resources/examples/*.json; do \
		QT_QPA_PLATFORM=offscreen $(VENV)/bin/torchloom gui $$f --screenshot \
			docs/screenshots/$$(basename $$f .json).png || exit 1; \
	done
	tmp=$$(mktemp -d) && cp resources/examples/mnist_cnn.json $$tmp/ && \
		QT_QPA_PLATFORM=offscreen TORCHLOOM_DATA_DIR=$$tmp $(VENV)/bin/torchloom gui \
		$$tmp/mnist_cnn.json --train --screenshot docs/screenshots/training.png && rm -rf $$tmp
	QT_QPA_PLATFORM=offscreen $(PY) docs/inspect_screenshots.py docs/screenshots
	QT_QPA_PLATFORM=offscreen $(PY) docs/lm_screenshots.py docs/screenshots

bench: setup
	$(PY) bench/shape_inference.py
	$(PY) bench/graph_growth.py
	$(PY) bench/compile_vs_handwritten.py
	$(PY) bench/train_throughput.py
	$(PY) bench/probe_overhead.py
	$(PY) bench/startup.py
	$(PY) bench/import_time.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/canvas.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/gui_responsiveness.py
	$(PY) bench/fuzz_soak.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
