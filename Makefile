# fame_nb: two commands do everything, creating the environment first when it is not there yet.
#   make main   set up, then run the main job: FAME on MovieLens-100K (fame-nb train --dataset ml-100k --model fame)
#   make test   set up, then run the tests: every notebook (nbdev_test) and tests/ (pytest)
# The environment is .venv (VENV=...). PyTorch comes first: the CUDA build where an NVIDIA GPU is visible, else the CPU
# build from PyTorch's CPU index (no multi-GB CUDA download). TORCH_SPEC overrides the pip arguments, e.g.
#   make test TORCH_SPEC="torch==2.13.0"      (a wheel pip finds locally, as CI does)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)
DARWIN := $(shell [ "$$(uname -s)" = Darwin ] && echo yes)
TORCH_SPEC ?= $(if $(or $(GPU),$(DARWIN)),torch,torch --index-url https://download.pytorch.org/whl/cpu)

.PHONY: main test setup clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH_SPEC)
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

main: setup
	. $(BIN)/activate && fame-nb train --dataset ml-100k --model fame

# nbdev_proc_nbs prepares the documentation pages that tests/test_docs.py opens in a browser; it tries to install Quarto
# when `quarto` is absent, which processing does not need, so a stub stands in for it there.
test: setup
	. $(BIN)/activate && if command -v quarto >/dev/null 2>&1; then nbdev_proc_nbs; else \
	  q="$$(mktemp -d)"; printf '#!/bin/sh\necho "quarto is not installed (stub for nbdev_proc_nbs)" >&2\nexit 1\n' > "$$q/quarto"; \
	  chmod +x "$$q/quarto"; PATH="$$q:$$PATH" nbdev_proc_nbs; fi
	. $(BIN)/activate && nbdev_test && pytest tests/

clean-venv:
	rm -rf $(VENV)
