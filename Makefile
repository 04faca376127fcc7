# gankeras: `make train` runs the main job, `make test` the test suite.
# Both do all set-up first on a fresh machine (idempotent, fast when done).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
BACKENDS ?= tensorflow jax torch
# One pytest-xdist worker per core, at most 4 (each worker holds a backend and
# its compiled steps: ~1.5 GB).
WORKERS ?= $(shell $(PYTHON) -c "import os; print(max(2, min(4, len(os.sched_getaffinity(0)))))")
PYTEST_ARGS ?= -n $(WORKERS) -q

.PHONY: setup lint test train bench clean

setup: .setup-done

.setup-done: setup.cfg pyproject.toml
	@if [ "$$(id -u)" = 0 ] && [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) \
	  || echo "note: could not install dataset-fashion-mnist; tests on the real Fashion-MNIST files will be skipped"; \
	fi
	# A CPU build of torch first: a plain `torch` requirement pulls a multi-GB CUDA build.
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[jax,torch,dev]"
	touch .setup-done

# Lint and format check (configured in pyproject.toml); `ruff format .` fixes
# the formatting.
lint: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# The linter, then the test suite once per Keras backend.
test: setup lint
	@set -e; for backend in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$backend ==="; \
	  KERAS_BACKEND=$$backend $(PYTHON) -m pytest $(PYTEST_ARGS) tests; \
	done

# The main job: the MNIST pipeline at its defaults. Its data: TFDS mnist when
# prepared or downloadable (checked within 3 s), else the Fashion-MNIST IDX
# files set-up installs (/usr/share/datasets/fashion-mnist); the first line
# printed says which and why. Any image folder: python -m pipelines.train --image_dir=DIR.
train: setup
	$(PYTHON) -m pipelines.train_mnist $(ARGS)

bench: setup
	KERAS_BACKEND=$(or $(BACKEND),tensorflow) $(PYTHON) bench/train_throughput.py

clean:
	rm -rf .setup-done build dist *.egg-info .pytest_cache
