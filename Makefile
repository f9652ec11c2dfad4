# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch's CPU build on machines without a GPU; on a CUDA machine the same pin from PyPI is the
# CUDA build (see README). An unpinned torch would pull several GB of CUDA packages.
TORCH ?= torch==2.13.0
OPEN_CLIP ?= open_clip_torch==3.3.0

# img2dataset's albumentations import otherwise checks for updates over the network.
export NO_ALBUMENTATIONS_UPDATE := 1
# Material for MkDocs prints a notice about its successor on every build.
export NO_MKDOCS_2_WARNING := 1

.PHONY: install demo test test-slow lint docs format clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	# setuptools warns, on every editable install, that a folder named like the package is in the
	# working directory (it is the package): nothing for a newcomer to act on.
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[dev,faiss,train]'
	# open_clip without its dependencies (torchvision has no CPU build here): the export test
	# builds open_clip's model from our export, with a stand-in torchvision, and compares.
	$(BIN)/python -m pip install --quiet --no-deps "$(OPEN_CLIP)"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/wit-builder demo --out runs/demo

test: install lint docs
	$(BIN)/pytest -m "not slow"

test-slow: install
	$(BIN)/pytest -m slow

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The site's home page is the README with its links made relative to docs/; --strict fails on
# any link or anchor that does not resolve.
docs: install
	sed 's#](docs/#](#g' README.md > docs/index.md
	$(BIN)/mkdocs build --strict --site-dir site

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) runs site docs/index.md .pytest_cache .ruff_cache build *.egg-info
