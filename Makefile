# shellwatch — see README.md. `make run` and `make test` set up what is missing.
SHELL := /bin/bash
GO ?= go
# The one version of the binary, the .deb and the alerts' agent_version,
# from git describe (packaging/version.sh: tag v1.2.3 gives 1.2.3, no tag
# 0.0.0~git<commit>).
VERSION ?= $(shell packaging/version.sh)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian packages: cgo build of go-yara (libyara-dev, pkg-config, gcc), the
# yara CLI, yarac and GNU time for the benchmark (its reference run), and the
# real parts the tests talk to: systemd-journald and journalctl (systemd),
# Alertmanager (prometheus-alertmanager), a web server running PHP for the
# end-to-end tests (nginx, php-fpm; their services are never started).
DEB_DEPS := libyara-dev pkg-config gcc yara time systemd prometheus-alertmanager aide nginx php-fpm

# Test corpora: real webshells (read only, never served, never copied out of
# a test's temp dir) and benign code. SHARED_CORPUS is a folder holding
# webshells/, webshells-new/ and benign-web.tar.xz (../shared/corpus beside
# the clone by default, as in CI); WEBSHELLS, WEBSHELLS_NEW and BENIGN_WEB
# name the three sets one by one instead (benign-web.tar.xz is unpacked
# under build/ when BENIGN_WEB holds no MANIFEST.tsv). Real web code from
# Debian packages is unpacked under build/corpus by scripts/benign-corpus.sh.
# Without $(WEBSHELLS)/MANIFEST.tsv the webshell detection and benign-web
# checks do not run, and `make test` says so in its last line.
SHARED_CORPUS ?= $(abspath $(CURDIR)/../shared/corpus)
WEBSHELLS ?= $(SHARED_CORPUS)/webshells
WEBSHELLS_NEW ?= $(SHARED_CORPUS)/webshells-new
BENIGN_DIR ?= $(CURDIR)/build/corpus
BENIGN_WEB ?= $(CURDIR)/build/benign-web
# The tests run in their package's folder: absolute paths only.
export SHELLWATCH_BENIGN := $(abspath $(BENIGN_DIR)/tree)
ifneq ($(wildcard $(WEBSHELLS)/MANIFEST.tsv),)
export SHELLWATCH_WEBSHELLS := $(abspath $(WEBSHELLS))
export SHELLWATCH_WEBSHELLS_NEW := $(abspath $(WEBSHELLS_NEW))
export SHELLWATCH_BENIGN_WEB := $(abspath $(BENIGN_WEB))
HAVE_CORPUS := 1
endif
# The last line of `make test` and `make report` when the corpus checks did
# not run ($@ is the target).
NO_CORPUS_NOTE = make $@: the webshell detection and benign-web checks did NOT run (no $(WEBSHELLS)/MANIFEST.tsv); \
  run them with SHARED_CORPUS=DIR (DIR holding webshells/, webshells-new/, benign-web.tar.xz) or WEBSHELLS=DIR \
  WEBSHELLS_NEW=DIR BENIGN_WEB=DIR, as in: make test SHARED_CORPUS=/srv/corpus (see Measured in README.md); CI runs them

.PHONY: all deps build run test lint bench bench-latency bench-trace bench-prevent corpus report clean deb deb-package

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
ifdef HAVE_CORPUS
	@if [ ! -f '$(BENIGN_WEB)/MANIFEST.tsv' ]; then \
	  mkdir -p '$(dir $(BENIGN_WEB))' && tar -xJf '$(SHARED_CORPUS)/benign-web.tar.xz' -C '$(dir $(BENIGN_WEB))' && \
	  echo "benign-web: unpacked into $(BENIGN_WEB)"; fi
else
	@echo "corpus: no $(WEBSHELLS)/MANIFEST.tsv: the webshell detection and benign-web checks will NOT run (CI has the corpus)"
endif

# The corpus tests fail (instead of skipping) when run from here.
test: deps corpus lint
	SHELLWATCH_REQUIRE_CORPUS=$(if $(HAVE_CORPUS),1,0) $(GO) test -race -count=1 -timeout 30m ./...
ifndef HAVE_CORPUS
	@echo '$(NO_CORPUS_NOTE)'
endif

lint: deps
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './build/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Detection per language family and false positives, from the corpus test.
report: deps corpus
	SHELLWATCH_REQUIRE_CORPUS=$(if $(HAVE_CORPUS),1,0) SHELLWATCH_REPORT=1 $(GO) test -count=1 -run 'TestCorpus' -v ./internal/corpus/ | grep -v '^=== RUN'
ifndef HAVE_CORPUS
	@echo '$(NO_CORPUS_NOTE)'
endif

bench: build corpus
	@scripts/bench.sh bin/shellwatch $(BENIGN_DIR)/tree "$(WEBSHELLS)"
	$(GO) test -run '^$$' -bench . -benchmem ./scanner/
	$(LATENCYBENCH)
	$(STATEBENCH)
	$(TRACEBENCH)
	$(PREVENTBENCH)

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

# `shellwatch trace` on a generated combined log of 20,000,000 lines (about
# 2.3 GiB of text: access.log, access.log.1 and eight gzipped parts, made
# once under build/bench/weblog-20000000 by internal/cmd/loggen) beside
# `grep -F URL` (zcat | grep -F for the gzipped parts): seconds, MB/s, peak
# RSS; then the Go benchmark of an access report from a full index, and
# the daemon's follow-up: from a file alert to its access_report with 1 GiB
# of rotated and gzipped log behind the live one (ACCESSBENCH_MB).
# A smaller log: make bench-trace TRACEBENCH_LINES=2000000
TRACEBENCH_LINES ?= 20000000
TRACEBENCH = scripts/bench-trace.sh bin/shellwatch $(TRACEBENCH_LINES) && \
	$(GO) test -run '^$$' -bench IndexReport -benchtime 20x ./weblog/ && \
	$(GO) test -run '^$$' -bench FollowUp -benchtime 20x ./access/

bench-trace: build
	$(TRACEBENCH)

# Prevention (package guard; root, fanotify): a burst of 10,000 opens of
# small scripts by root (never held) and by www-data (held, answered from
# the verdict cache), prevention off and on: the burst's time and the p50
# and p99 of one open. Then a request to a script already judged clean
# through Debian's nginx and php-fpm on loopback, OPcache on and off,
# prevention off and on: p50 and p99 of one request (2,000 a round).
PREVENTBENCH = $(GO) test -run '^$$' -bench 'Opens|RootBurst|VerifiedRequest|FirstRequestNewFile' -benchtime 3x ./guard/

bench-prevent: deps
	$(PREVENTBENCH)

# The Debian package build/shellwatch_<version>_amd64.deb (packaging/nfpm.yaml:
# the binary, the hardened unit, the journald catalog, the conffile, the
# state and vault folders), made by nfpm, pinned and run with go run. Its
# version is the binary's, VERSION. deb-package is the nfpm step alone, for
# packaging/deb_test.go: it packages DEB_BIN into DEB_DIR.
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DEB_VERSION ?= $(VERSION)
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
