# shellwatch — see README.md. `make run` and `make test` set up what is missing.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian packages: cgo build of go-yara (libyara-dev, pkg-config, gcc), the
# yara CLI, yarac and GNU time for the benchmark (its reference run), and the
# real parts the tests talk to: systemd-journald and journalctl (systemd),
# Alertmanager (prometheus-alertmanager).
DEB_DEPS := libyara-dev pkg-config gcc yara time systemd prometheus-alertmanager aide

# Test corpora: real webshells (read only, never served, never copied out of
# a test's temp dir) and benign code: ../shared/corpus when it is beside the
# clone (its benign-web.tar.xz unpacked under build/), and real web code from
# Debian packages unpacked under build/corpus by scripts/benign-corpus.sh.
# Without ../shared/corpus the webshell and benign-web checks do not run, and
# `make test` says so.
SHARED_CORPUS ?= $(abspath $(CURDIR)/../shared/corpus)
WEBSHELLS ?= $(SHARED_CORPUS)/webshells
WEBSHELLS_NEW ?= $(SHARED_CORPUS)/webshells-new
BENIGN_DIR ?= $(CURDIR)/build/corpus
BENIGN_WEB ?= $(CURDIR)/build/benign-web
export SHELLWATCH_BENIGN := $(BENIGN_DIR)/tree
ifneq ($(wildcard $(SHARED_CORPUS)/webshells/MANIFEST.tsv),)
export SHELLWATCH_WEBSHELLS := $(WEBSHELLS)
export SHELLWATCH_WEBSHELLS_NEW := $(WEBSHELLS_NEW)
export SHELLWATCH_BENIGN_WEB := $(BENIGN_WEB)
HAVE_SHARED_CORPUS := 1
endif

.PHONY: all deps build run test lint bench bench-latency corpus report clean deb deb-package

all: build

deps:
	@scripts/deps.sh $(DEB_DEPS)

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/shellwatch ./cmd/shellwatch

# `make run` runs the daemon in the foreground on demo/config.toml, watching
# a demo web root of harmless files in build/demo (never served), and prints
# how to drop a sample and see the alert and the vault.
run: build
	@scripts/demo.sh bin/shellwatch

corpus: deps
	@scripts/benign-corpus.sh $(BENIGN_DIR)
ifdef HAVE_SHARED_CORPUS
	@if [ ! -f '$(BENIGN_WEB)/MANIFEST.tsv' ]; then \
	  mkdir -p '$(dir $(BENIGN_WEB))' && tar -xJf '$(SHARED_CORPUS)/benign-web.tar.xz' -C '$(dir $(BENIGN_WEB))' && \
	  echo "benign-web: unpacked into $(BENIGN_WEB)"; fi
else
	@echo "corpus: $(SHARED_CORPUS) is absent: the webshell detection and benign-web checks will NOT run (CI has it)"
endif

# The corpus tests fail (instead of skipping) when run from here.
test: deps corpus lint
	SHELLWATCH_REQUIRE_CORPUS=$(if $(HAVE_SHARED_CORPUS),1,0) $(GO) test -race -count=1 ./...
ifndef HAVE_SHARED_CORPUS
	@echo "make test: $(SHARED_CORPUS) is absent: the webshell detection and benign-web checks did NOT run"
endif

lint: deps
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './build/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Detection per language family and false positives, from the corpus test.
report: deps corpus
	SHELLWATCH_REQUIRE_CORPUS=$(if $(HAVE_SHARED_CORPUS),1,0) SHELLWATCH_REPORT=1 $(GO) test -count=1 -run 'TestCorpus' -v ./internal/corpus/ | grep -v '^=== RUN'

bench: build corpus
	@scripts/bench.sh bin/shellwatch $(BENIGN_DIR)/tree "$(WEBSHELLS)"
	$(GO) test -run '^$$' -bench . -benchmem ./scanner/
	$(LATENCYBENCH)
	$(STATEBENCH)

# Latency of the real daemon from a webshell's close() to its journald entry,
# its webhook and its quarantine, and idle CPU and RSS over 10,000 watched
# folders (about 2.5 minutes; root; starts systemd-journald if none runs).
# Prints a table and writes build/bench/latency.json. Flags, e.g. a shorter
# run: make bench-latency LATENCYBENCH_FLAGS='-drops 200 -idle 5s'
LATENCYBENCH_FLAGS ?=
LATENCYBENCH = $(GO) run ./internal/cmd/latencybench -bin bin/shellwatch -out build/bench/latency.json $(LATENCYBENCH_FLAGS)

bench-latency: build
	$(LATENCYBENCH)

# The baseline (state package) on 100,000 files in build/bench/state-tree
# (the benign corpus plus synthetic files): our baseline build against
# Debian's `aide --init` (sha256 and p+i+n+u+g+s+m+c), DB bytes per file,
# and a restart's reconciliation with nothing changed, in a fresh process:
# its time and its anonymous memory (RssAnon, peak and after). Then the same
# on 1,000,000 files in build/bench/state-tree-1m (about 5 GB of disk; AIDE
# left out there, its check alone takes minutes). Page cache warm.
STATEBENCH = $(GO) run ./internal/cmd/statebench -tree build/bench/state-tree -benign $(SHELLWATCH_BENIGN) && \
	$(GO) run ./internal/cmd/statebench -tree build/bench/state-tree-1m -files 1000000 -aide=false -benign $(SHELLWATCH_BENIGN)

.PHONY: bench-state
bench-state: deps corpus
	$(STATEBENCH)

# The Debian package build/shellwatch_<version>_amd64.deb (packaging/nfpm.yaml:
# the binary, the hardened unit, the journald catalog, the conffile, the
# state and vault folders), made by nfpm, pinned and run with go run. The
# version comes from git describe (packaging/version.sh). deb-package is the
# nfpm step alone, for packaging/deb_test.go: it packages DEB_BIN into DEB_DIR.
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DEB_VERSION ?= $(shell packaging/version.sh)
DEB_BIN ?= bin/shellwatch
DEB_DIR ?= build
DEB_PACKAGE = mkdir -p '$(DEB_DIR)' && \
	SHELLWATCH_BIN='$(abspath $(DEB_BIN))' SHELLWATCH_DEB_VERSION='$(DEB_VERSION)' \
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
	$(GO) run $(NFPM) package --config packaging/nfpm.yaml --packager deb \
	  --target '$(DEB_DIR)/shellwatch_$(DEB_VERSION)_amd64.deb'

deb: build
	$(DEB_PACKAGE)

deb-package:
	$(DEB_PACKAGE)

clean:
	rm -rf bin build/demo build/eval* build/bench build/shellwatch_*.deb
