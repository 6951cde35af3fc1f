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
# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
NPM_STAMP := node_modules/.installed
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
export CHROMIUM

.PHONY: help setup html serve test bench publish clean demo-photos intake browser-deps system-deps lighthouse budgets

help:
	@echo "make serve   build the demo site and serve it on http://127.0.0.1:$(PORT)/"
	@echo "make test    run every test (installs chromium as root when missing, and npm ci)"
	@echo "make lighthouse  Lighthouse mobile scores for the wall and a story page"
	@echo "make budgets wall HTML+CSS+JS gzipped, largest image a phone loads on a story page"
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

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser-deps: system-deps $(NPM_STAMP)

# Debian's chromium (and a JRE for the Nu HTML checker) when missing: apt-get as root,
# as CI runs. Without root the browser tests skip locally (and fail with CI=true).
system-deps:
	@pkgs=""; \
	test -x $(CHROMIUM) || pkgs="$$pkgs chromium"; \
	command -v java >/dev/null 2>&1 || pkgs="$$pkgs default-jre-headless"; \
	if [ -n "$$pkgs" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$pkgs"; \
	    $(APT_GET) update -q && $(APT_GET) install -y -q --no-install-recommends $$pkgs; \
	  else \
	    echo "make: missing$$pkgs; install as root: apt-get install --no-install-recommends$$pkgs" >&2; \
	  fi; \
	fi

# axe-core, the Nu HTML checker (vnu-jar) and Lighthouse, from package-lock.json.
$(NPM_STAMP): package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund
	@touch $@

lighthouse: html browser-deps
	$(BIN)/python scripts/lighthouse.py

budgets: html browser-deps
	$(BIN)/python scripts/budgets.py

bench: $(STAMP)
	$(BIN)/python scripts/bench.py --n $(N)
	$(BIN)/python scripts/bench_photos.py $(if $(PHOTOS),--photos $(PHOTOS))
	$(BIN)/python scripts/bench_intake.py
	$(BIN)/python scripts/bench_video.py
	$(BIN)/python scripts/bench_loop.py

# The demo stories' photos are made, not committed (skips the ones already there).
demo-photos: $(STAMP)
	@$(BIN)/python scripts/make_demo_photos.py

clean:
	rm -rf output .cache

intake: $(STAMP)
	$(BIN)/storywall intake --port 8070
