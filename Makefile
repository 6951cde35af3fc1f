# Story Wall — Pelican-style Makefile. Every target sets itself up: it creates
# .venv and installs the project the first time, and does nothing more when
# pyproject.toml has not changed.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
N ?= 1000
PYTEST_ARGS ?=

.PHONY: help setup html serve test bench publish clean demo-photos

help:
	@echo "make serve   build the demo site and serve it on http://127.0.0.1:$(PORT)/"
	@echo "make test    run every test"
	@echo "make html    build the site into output/"
	@echo "make publish build with publishconf.py (strict)"
	@echo "make bench   N=1000: story-wall build vs plain Pelican, then the photo pipeline"
	@echo "make clean   remove output/ and .cache/"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

html: $(STAMP) demo-photos
	$(BIN)/storywall build

publish: $(STAMP) demo-photos
	$(BIN)/storywall build --publish --strict

serve: $(STAMP) demo-photos
	$(BIN)/storywall serve --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py --n $(N)
	$(BIN)/python scripts/bench_photos.py

# The demo stories' photos are made, not committed (skips the ones already there).
demo-photos: $(STAMP)
	@$(BIN)/python scripts/make_demo_photos.py

clean:
	rm -rf output .cache
