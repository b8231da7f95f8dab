# Two entry points (see README.md): `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.nnevolve-installed

.PHONY: setup demo test extension clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# builds the extension bundle and its .vsix (npm ci, esbuild, vsce; no network beyond npm)
extension:
	$(MAKE) -C extension package

demo: setup
	$(VENV)/bin/nnevolve evolve samples/convnet_small.py --dataset digits

test: setup extension
	$(PY) -m pytest

clean:
	rm -rf $(VENV) extension/node_modules extension/dist .nnevolve
