# One entry point for people and CI. `make run` and `make test` each set everything up first.
# The torch pin is installed before anything else: any other torch requirement would pull
# several GB of CUDA packages on this kind of machine.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_PIN := torch==2.13.0
EXAMPLE ?= resources/examples/mnist_cnn.json

.PHONY: setup run test test-fast lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet $(TORCH_PIN)
	$(PIP) install --quiet -e '.[test]'
	touch $@

run: setup
	$(VENV)/bin/torchloom summary $(EXAMPLE)

lint: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check engine gui tests bench

test: setup lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

test-fast: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m "not slow" -q

bench: setup
	$(PY) bench/shape_inference.py
	$(PY) bench/compile_vs_handwritten.py
	$(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
