# coatnet-edge. `make run` and `make test` install what is missing on Debian
# or Raspberry Pi OS (apt-get, through sudo when not root), then do their job.

# tools/go is the Go release that go.mod's toolchain line names, fetched
# once from the Go module proxy where the machine lacks it (Debian 12 ships
# 1.19).
GO       ?= $(CURDIR)/tools/go
SHARED   ?= $(abspath ../shared)
export COATNET_CONFORMANCE ?= $(SHARED)/conformance/timm
# VERSION is the one version string: `coatnet version`, `--version`, the
# Debian package and its file name. vX.Y.Z tags give X.Y.Z (+gitN.HASH past
# the tag); untagged, 0~gitN.HASH, N counting commits so versions increase;
# uncommitted changes add +dirty. Computed once, so a commit landing
# mid-build cannot rename the package.
ifndef VERSION
VERSION := $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) \
	&& echo "$${v#v}" | sed 's/-\([0-9]*\)-g\([0-9a-f]*\)$$/+git\1.\2/' \
	|| echo "0~git$$(git rev-list --count HEAD 2>/dev/null || echo 0).$$(git rev-parse --short HEAD 2>/dev/null || echo dev)")$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
endif
# MAINTAINER: the package's Maintainer and changelog signature, the address
# of the repository's commits.
MAINTAINER ?= coatnet-edge maintainers <maintainers@users.noreply.r-seed-51a4bd43.example>
LDFLAGS  := -s -w -X main.buildVersion=$(VERSION)
# The camera needs OpenCV through cgo; nogocv builds everything else.
TAGS     ?= nogocv
BIN      := bin/coatnet
# arm64 tests run for real under qemu-user on these CPUs.
QEMU_CPUS ?= cortex-a53 cortex-a72 cortex-a76 max
# Packages tested under qemu: everything, with -short (emulation is ~50x slower).
ARM64_PKGS ?= ./...

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# binutils-aarch64-linux-gnu: objdump cross-checks the WORD encodings of
# arm64/*.s (arm64/words_test.go). dataset-fashion-mnist: the test set the
# demo models are measured on (models/, dataset/, cmd/coatnet eval).
# mosquitto: the broker the agent's MQTT tests start on a loopback port.
# libopencv-dev: OpenCV 4.6 for GoCV (camera/, test-camera).
# systemd: systemd-analyze and systemd-sysusers for check-systemd (containers
# often lack it). dpkg-dev (dpkg-shlibdeps) and lintian: check-deb.
# python3-jinja2: the Home Assistant tests render the discovery templates.
# chromium: the status page's browser tests drive it headless (web/ against
# a fake agent in test-native; the agent on the demo scene, TestDemoBrowser,
# in test-camera).
APT_TEST := qemu-user binutils-aarch64-linux-gnu dataset-fashion-mnist mosquitto libopencv-dev g++ pkg-config \
	systemd dpkg-dev lintian python3-jinja2 chromium

.PHONY: docs soak accuracy all build run test test-native test-camera test-arm64 check-train cross bench bench-arm64 cycles-threads vet vulncheck fuzz deps deps-bench check-go clean mca \
	build-gocv build-pure bench-start install install-files uninstall deb deb-arch check-systemd check-install check-deb

all: build

# check-go makes sure the project's Go release runs (curl and unzip fetch it
# when the machine has no go of 1.21 or newer).
check-go:
	$(call apt-install,curl unzip ca-certificates)
	@$(GO) version

# apt-install installs the Debian packages named in $(1), only those missing.
define apt-install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

# deps installs the Debian packages the tests use, only those missing.
deps:
	$(call apt-install,$(APT_TEST))

# deps-bench: what bench-arm64 needs (the qemu plugin is built with gcc
# against glib's headers).
APT_BENCH := qemu-user gcc pkg-config libglib2.0-dev
deps-bench:
	$(call apt-install,$(APT_BENCH))

build: check-go
	$(GO) build -tags '$(TAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/coatnet

# run builds the agent with GoCV and starts the demo: the int8 demo model
# built into the binary, a scene video with two regions whose items change
# at moments it logs, made once in ~/.local/state/coatnet/demo, and an
# embedded MQTT broker on 127.0.0.1:1883; the status page is at
# http://127.0.0.1:8080/. RUN_ARGS passes more, e.g. RUN_ARGS='--config my.yaml'.
# g++ and pkg-config: cgo compiles GoCV against OpenCV. mosquitto-clients:
# the agent's first hint is a mosquitto_sub command to watch its labels.
APT_RUN := libopencv-dev dataset-fashion-mnist g++ pkg-config
RUN_ARGS ?=
run:
	$(call apt-install,$(APT_RUN) mosquitto-clients)
	@$(MAKE) --no-print-directory check-go
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/coatnet
	./$(BIN) run $(RUN_ARGS)

test: deps check-go vet vulncheck test-native test-camera test-arm64 check-train check-systemd check-install check-deb test-peers

# soak (minutes; not in make test): the agent at full speed on the demo
# video through GoCV into mosquitto for SOAK_DURATION, sampling RSS, the Go
# heap, goroutines and open files; it fails if any grows after warm-up. The
# table goes to bin/soak.md (the README quotes one run).
SOAK_DURATION ?= 10m
# SOAK_TIMEOUT must exceed SOAK_DURATION (the test's own set-up and drain).
SOAK_TIMEOUT ?= $(if $(filter 10m,$(SOAK_DURATION)),20m,24h)
soak: deps check-go
	@mkdir -p bin
	SOAK_DURATION=$(SOAK_DURATION) SOAK_EVERY=$(if $(SOAK_EVERY),$(SOAK_EVERY),30s) SOAK_OUT=$(CURDIR)/bin/soak.md \
		$(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout $(SOAK_TIMEOUT) -v ./agent

# Every go test has an explicit -timeout, well above what it takes on two
# busy cores (README: "How long make test takes"), so a hang fails with a
# goroutine dump instead of running into CI's limit.
TEST_TIMEOUT ?= 30m

test-native:
	$(GO) test -tags '$(TAGS)' -count=1 -timeout $(TEST_TIMEOUT) ./...

# accuracy (not in make test; .ci/run runs it after): the shipped models on
# all 10,000 Fashion-MNIST test images, float against PyTorch and int8
# against float, clean and camera-like (make test classifies the first 2,000);
# the camera-like set is a video read through GoCV, so that run is a cgo build.
accuracy: check-go
	$(call apt-install,dataset-fashion-mnist)
	$(GO) test -tags '$(TAGS) accuracy' -count=1 -timeout $(TEST_TIMEOUT) -run 'Accuracy|Int8MatchesFloat' -v ./models
	$(call apt-install,$(APT_RUN))
	$(GO) test -tags accuracy -count=1 -timeout $(TEST_TIMEOUT) -run 'CameraLike' -v ./models

# The GoCV code with OpenCV through cgo, built with -tags matprofile so a
# test can check that every Mat is closed: the camera sources, the demo
# video, and the agent end to end on the demo video and scene (with the
# status page in headless chromium: TestDemoBrowser, its screenshots in
# $COATNET_ARTIFACTS when set).
test-camera: check-go
	$(GO) vet -tags matprofile ./camera ./demo ./agent
	$(GO) test -tags matprofile -count=1 -timeout $(TEST_TIMEOUT) ./camera ./demo
	$(GO) test -tags matprofile -count=1 -timeout $(TEST_TIMEOUT) -run 'Demo' ./agent
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'CameraLike' ./models

# Cross-compiled tests executed under qemu-user, once per CPU model, so
# every code path a CPU feature selects is run, not just built.
test-arm64:
	@for cpu in $(QEMU_CPUS); do \
		echo "== arm64 tests under qemu-aarch64 -cpu $$cpu"; \
		CGO_ENABLED=0 GOARCH=arm64 $(GO) test -tags '$(TAGS)' -count=1 -short -timeout $(TEST_TIMEOUT) \
			-exec "qemu-aarch64 -cpu $$cpu" $(ARM64_PKGS) || exit 1; \
	done

# The training model must reproduce timm; checked wherever PyTorch is
# installed (Debian's python3-torch), skipped elsewhere.
PYTHON_TORCH ?= /usr/bin/python3
check-train: check-train-folder check-train-loop
	@if $(PYTHON_TORCH) -c 'import torch' 2>/dev/null; then \
		$(PYTHON_TORCH) tools/train/check_conformance.py; \
	else \
		echo "check-train: no PyTorch for $(PYTHON_TORCH), skipping tools/train/check_conformance.py"; \
	fi

.PHONY: check-train-folder check-train-loop model
# check-train-folder: training on a folder dataset end to end on a tiny one
# the test writes (train, convert, quantize, card; split, reproducibility,
# fine-tuning), under a minute; skipped like check-train without PyTorch.
check-train-folder: build
	@if $(PYTHON_TORCH) -c 'import torch, PIL' 2>/dev/null; then \
		PYTHON_TORCH=$(PYTHON_TORCH) tools/train/test_folder.sh $(BIN); \
	else \
		echo "check-train-folder: no PyTorch or PIL for $(PYTHON_TORCH), skipping tools/train/test_folder.sh"; \
	fi

# check-train-loop: the loop of a model of your own end to end, about a
# minute: the GoCV agent collects crops from a scene video, they are
# labelled by the scene's ground truth, trained on for 3 epochs, converted
# without flags, quantized and evaluated (tools/train/test_loop.sh); skipped
# like check-train without PyTorch or OpenCV. The scene writer
# (tools/train/scene) is built with build-gocv's cgo flags, so gocv's C++
# compiled for the agent serves it from the build cache.
check-train-loop: check-go
	@if ! $(PYTHON_TORCH) -c 'import torch, PIL' 2>/dev/null; then \
		echo "check-train-loop: no PyTorch or PIL for $(PYTHON_TORCH), skipping tools/train/test_loop.sh"; \
	elif ! pkg-config --exists opencv4 2>/dev/null; then \
		echo "check-train-loop: no OpenCV (libopencv-dev) for the GoCV build, skipping tools/train/test_loop.sh"; \
	else \
		$(MAKE) --no-print-directory build-gocv && \
		$(GOCV_CGO) $(GO) build -tags customenv -buildmode=pie -trimpath -o bin/scene ./tools/train/scene && \
		PYTHON_TORCH=$(PYTHON_TORCH) tools/train/test_loop.sh $(GOCV_BIN) bin/scene; \
	fi

# model: a model of your own from a folder dataset (one subfolder per class):
#   make model DATA=DIR [TEST=DIR] [ARCH=nano|pico|demo|tiny] [EPOCHS=30] [INIT=timm.pth] [NAME=...]
# trains (tools/train/train.py; TRAIN_ARGS passes more flags), converts,
# quantizes on the training pictures, evaluates both on TEST and writes the
# card, all under MODEL_DIR (default build/model/NAME).
ARCH ?= nano
EPOCHS ?= 30
model: build
	$(call apt-install,python3-torch python3-pil python3-numpy python3-tqdm)
	@[ -n "$(DATA)" ] || { echo "make model: DATA=DIR (one subfolder per class) is required"; exit 2; }
	COATNET=$(BIN) PYTHON_TORCH=$(PYTHON_TORCH) NAME=$(or $(NAME),$(notdir $(abspath $(DATA)))) \
	TRAIN_ARGS='--arch $(ARCH) --epochs $(EPOCHS)$(if $(INIT), --init $(INIT)) $(TRAIN_ARGS)' \
		tools/train/make_model.sh $(DATA) $(or $(MODEL_DIR),build/model/$(or $(NAME),$(notdir $(abspath $(DATA))))) $(TEST)

cross: check-go
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags nogocv -trimpath -ldflags '$(LDFLAGS)' -o bin/coatnet-linux-arm64 ./cmd/coatnet
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -tags nogocv -trimpath -ldflags '$(LDFLAGS)' -o bin/coatnet-linux-amd64 ./cmd/coatnet

bench: check-go
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

# bench-peers (not in make test; README "Against ONNX Runtime"):
# coatnet-edge against ONNX Runtime on this machine, side by side in one
# process, the engines taking turns (tools/peerbench): the conformance case
# PEERS_CASE (coatnet_0_rw_224_224_s1 for coatnet_0_rw_224) with timm's
# weights, coatnet-edge int8 and float32, ONNX Runtime PEERS_ORT fp32 and
# int8 (static QDQ from tools/train/export_onnx.py), both int8 models
# calibrated on the same PEERS_CALIB inputs, at PEERS_THREADS, in
# PEERS_ROUNDS rounds; p50, p90, p99 and mean per engine. It installs what
# is missing (PyTorch and onnx to export, npm to fetch ORT's library from the
# npm package onnxruntime-node, gcc for cgo) and keeps the library and the
# models in PEERS_DIR; where one cannot be had it says so and exits 0.
# tools/peerbench is a module of its own, so cgo and ORT stay out of go.mod.
# npm only where there is none: Node.js from elsewhere (NodeSource) ships its
# own, and Debian's npm package conflicts with that nodejs.
APT_PEERS     := python3-torch python3-onnx gcc $(if $(shell command -v npm),,npm)
PEERS_DIR     ?= bin/bench-peers
PEERS_CASE    ?= coatnet_nano_rw_224_224_s1
PEERS_THREADS ?= 1,2
PEERS_ROUNDS  ?= 20
PEERS_CALIB   ?= 200
PEERS_ORT     ?= 1.30.0
PEERS_ARGS    ?=
.PHONY: bench-peers test-peers
bench-peers: check-go
	-$(call apt-install,$(APT_PEERS))
	@command -v gcc >/dev/null || { echo "bench-peers: skipped: no gcc to build tools/peerbench with cgo (not a failure)"; exit 0; }; \
	set -e; cd tools/peerbench && CGO_ENABLED=1 $(GO) build -trimpath -o $(abspath $(PEERS_DIR))/peerbench . && cd $(CURDIR) && \
	$(PEERS_DIR)/peerbench -case $(PEERS_CASE) -threads $(PEERS_THREADS) -rounds $(PEERS_ROUNDS) -calib $(PEERS_CALIB) \
		-ort-version $(PEERS_ORT) -cache $(PEERS_DIR) -python $(PYTHON_TORCH) $(PEERS_ARGS)

# test-peers (in make test): vet and the quick tests of tools/peerbench, its
# own module, so ./... leaves it out: flags, the skips, and, where
# bench-peers has fetched ORT and PyTorch is installed, a 2-round run of
# every engine on the small case tiny_nano_rw_64_s3.
test-peers: check-go
	cd tools/peerbench && CGO_ENABLED=1 $(GO) vet . && CGO_ENABLED=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) .

# bench-start (not in make test): how long the installed builds take to
# start, pure Go (/usr/bin/coatnet) and GoCV (the camera's helper): median
# wall and CPU time of `coatnet --version` and of a completion request
# (`coatnet __complete run ''`, one TAB) over START_RUNS runs
# (tools/startbench); the README quotes a run.
START_RUNS ?= 20
bench-start: build-gocv build-pure
	$(GO) run ./tools/startbench -n $(START_RUNS) -build pure=$(PURE_BIN) -build gocv=$(GOCV_BIN)

# gofmt is the release's own: a machine may have none on PATH.
GOFMT = "$$($(GO) env GOROOT)/bin/gofmt"
vet: check-go
	@test -z "$$($(GOFMT) -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; $(GOFMT) -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 GOARCH=arm64 $(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 GOARCH=riscv64 $(GO) build -tags '$(TAGS)' ./...

# vulncheck: govulncheck on every package as installed (with GoCV), against
# the Go vulnerability database taken from the Go module proxy as the module
# golang.org/x/vulndb (tools/vulncheck); the first run builds govulncheck and
# the index into ~/.cache/coatnet/vulncheck (minutes), later ones are
# offline (seconds). It fails on a vulnerability the code can reach (those
# only in imported packages or required modules are counted, not failed on).
# The database is pinned, so in make test a result changes only with the
# tree, never with the day; VULNDB_VERSION=latest checks against today's.
GOVULNCHECK_VERSION ?= v1.9.0
VULNDB_VERSION      ?= v0.0.0-20261105234957-e22db6528018
vulncheck: check-go
	$(call apt-install,$(APT_RUN))
	GO=$(GO) GOVULNCHECK_VERSION=$(GOVULNCHECK_VERSION) VULNDB_VERSION=$(VULNDB_VERSION) tools/vulncheck ./...

# bench-arm64 counts the arm64 instructions of one int8 inference, exactly,
# under qemu-user (the method of the NEON issue's acceptance test):
#   1. the plugin shared/tools/qemu-insncount is built into $(BENCH_DIR);
#   2. tools/armbench model writes an int8 coatnet_nano_rw_224 at 224: the
#      float model of the conformance case coatnet_nano_rw_224_224_s1
#      (SyntheticWeights where it is missing) quantized by package quant on
#      4 inputs of the case formula (seeds 101-104);
#   3. bin/coatnet-arm64 and bin/coatnet-arm64-purego are cross-built for
#      linux/arm64 (CGO_ENABLED=0 -tags nogocv, and purego; not stripped:
#      the plugin counts per symbol);
#   4. for each CPU of BENCH_CPUS, each build and K = 1 and 3:
#        GOMAXPROCS=1 qemu-aarch64 -cpu CPU -plugin insncount.so,out=F \
#            BIN bench MODEL --iterations K --warmup 0 --threads 1
#      and instructions per inference = (count(K=3) - count(K=1)) / 2, so
#      loading the model and packing weights cancel out; printed in total,
#      per operation (symbols mapped to ops) and per symbol, with the ratio
#      of each build to purego on the same CPU.
BENCH_DIR  ?= bin/bench-arm64
BENCH_CPUS ?= cortex-a76,cortex-a72
BENCH_MODEL := $(BENCH_DIR)/nano-int8.coatnet
bench-arm64: check-go deps-bench $(BENCH_MODEL)
	gcc -shared -fPIC -O2 $$(pkg-config --cflags glib-2.0) -o $(BENCH_DIR)/insncount.so $(SHARED)/tools/qemu-insncount/insncount.c
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags nogocv -trimpath -o bin/coatnet-arm64 ./cmd/coatnet
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags 'nogocv purego' -trimpath -o bin/coatnet-arm64-purego ./cmd/coatnet
	$(GO) run ./tools/armbench count -plugin $(BENCH_DIR)/insncount.so -model $(BENCH_MODEL) -cpus $(BENCH_CPUS) \
		-build neon=bin/coatnet-arm64 -build purego=bin/coatnet-arm64-purego -json $(BENCH_DIR)/counts.json

# cycles-threads prices every operation of one int8 inference (the model of
# bench-arm64) with ../shared/tools/cyclemodel and models 2 and 4 threads
# with the engine's own task split:
#   1. the tool's run.sh (pass 1: modeled cycles per block and in all) into
#      CYCLES_DIR, for each CPU of CYCLES_CPUS;
#   2. its cyclemodel.py cyctab turns the K=3 run into a per-block cycle table;
#   3. tools/armbench split runs qemu with that table and a mark where each
#      operation starts (int8net.runOp), once on 1 thread and once for each
#      thread count with the engine made for it (GOMAXPROCS=1: its tasks run
#      one after another), and schedules each operation's tasks
#      (Net.TaskSizes) on equal cores.
# The tool's own per-op pass (OPS=1) names the engine before its split into
# model/int8net and does not build against this tree.
CYCLES_DIR  ?= bin/cycles
CYCLES_CPUS ?= cortex-a76 cortex-a72
cycles-threads: check-go deps-bench
	$(call apt-install,llvm-19)
	rm -rf $(CYCLES_DIR) && mkdir -p $(CYCLES_DIR)
	CPUS="$(CYCLES_CPUS)" GO=$(GO) $(SHARED)/tools/cyclemodel/run.sh . $(abspath $(CYCLES_DIR))
	@for cpu in $(CYCLES_CPUS); do s=$${cpu#cortex-}; \
		python3 $(SHARED)/tools/cyclemodel/cyclemodel.py cyctab --tb $(CYCLES_DIR)/$$s-k3.tb --mcpu $$s \
			--out $(CYCLES_DIR)/cyc-$$s.txt || exit 1; \
		$(GO) run ./tools/armbench split -bin $(CYCLES_DIR)/coatnet-arm64 -model $(CYCLES_DIR)/nano-int8.coatnet \
			-plugin $(CYCLES_DIR)/tbcount.so -cyc $(CYCLES_DIR)/cyc-$$s.txt -cpu $$cpu -o $(CYCLES_DIR)/$$s-ops.tb || exit 1; \
	done

$(BENCH_MODEL): $(wildcard quant/*.go model/*.go internal/testing/benchmodel/*.go tools/armbench/*.go)
	$(GO) run ./tools/armbench model -o $@

# fuzz runs every fuzz target for FUZZTIME (seeds alone run in `make test`);
# -fuzztime bounds each run, so the test timeout is off.
FUZZTIME ?= 30s
fuzz: check-go
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' -timeout 5m $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -timeout 0 $$pkg || exit 1; \
		done; \
	done

# mca prints llvm-mca's cycles for the inner loops and whole channel
# blocks of the GEMM micro-kernels (arm64/testdata/mca, written by go
# generate in arm64/; the README's arm64 section has the figures).
mca:
	@command -v llvm-mca-19 >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq llvm-19; }
	@cd arm64/testdata/mca && for f in *.s; do \
		flags=$$(sed -n 's/^\/\/ llvm-mca-19 \(.*\) [^ ]*$$/\1/p' $$f); \
		echo "== llvm-mca-19 $$flags $$f"; llvm-mca-19 $$flags $$f | sed -n '1,4p'; \
	done

# ---------------------------------------------------------------------------
# The systemd service: installation, the Debian package, and their checks.
#
#   sudo make install            coatnet (pure Go), its GoCV build for the
#                                camera, the unit, the coatnet user
#                                (sysusers.d), the example config (never over
#                                an existing one), the models
#   make install DESTDIR=/tmp/r PREFIX=/usr/local     staged, not activated
#   sudo make uninstall          removes what install put, except a changed
#                                /etc/coatnet/agent.yaml, the state in
#                                /var/lib/coatnet and the coatnet user
#   make deb                     bin/coatnet-edge_VERSION_ARCH.deb, native and
#                                (on amd64) cross-built arm64
PREFIX  ?= /usr
DESTDIR ?=
# Debian 12 packages keep units in /lib/systemd/system; Debian 13 ones in
# /usr/lib/systemd/system (only /usr holds files there: its lintian fails
# aliased-location on /lib); another prefix uses
# PREFIX/lib/systemd/system, which systemd reads for /usr/local too, as
# systemd-sysusers reads PREFIX/lib/sysusers.d.
SYSTEM_UNITDIR := $(shell . /etc/os-release 2>/dev/null; { [ "$$ID" = debian ] || [ "$$ID" = raspbian ]; } && \
	[ "$${VERSION_ID%%.*}" -lt 13 ] 2>/dev/null && echo /lib/systemd/system || echo /usr/lib/systemd/system)
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),$(SYSTEM_UNITDIR),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DATADIR     := $(PREFIX)/share/coatnet
# The unit reads /etc/coatnet/agent.yaml whatever the prefix.
CONFDIR     := /etc/coatnet
# JETSON=1 installs the Jetson drop-in active, next to the unit; without it
# the drop-in is only copied to DATADIR.
JETSON      ?=
NATIVE_ARCH := $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
DEB_ARCH    ?= $(NATIVE_ARCH)
GOCV_BIN     = bin/gocv-$(DEB_ARCH)/coatnet
PURE_BIN     = bin/pure-$(DEB_ARCH)/coatnet
# The GoCV build is installed at PREFIX/GOCV_HELPER, off PATH; the pure
# build, PREFIX/bin/coatnet, is stamped with the path from its own
# directory, so one binary serves any PREFIX and DESTDIR.
GOCV_HELPER := libexec/coatnet/coatnet-gocv
INSTALL_MODELS := $(wildcard models/*.coatnet) models/fashion-mnist-labels.txt
INSTALL_DATA   := $(notdir $(INSTALL_MODELS)) agent.yaml.example jetson.conf
# The man pages and shell completions of make docs go where man, bash-completion,
# zsh and fish look for a package's: zsh's vendor directory is Debian's.
MANDIR      ?= $(PREFIX)/share/man/man1
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DOCS_DIR    := bin/docs

# build-gocv builds the agent with GoCV (cgo and OpenCV 4.6), installed as
# PREFIX/GOCV_HELPER for the commands that open a camera (coatnet run hands
# over to it by exec). It is built as Debian builds its own programs: PIE,
# and gocv's C++ with dpkg-buildflags' hardening (stack protector,
# _FORTIFY_SOURCE, full RELRO). gocv's customenv tag takes the OpenCV flags
# from CGO_* instead of pkg-config's every module: it links GOCV_OPENCV,
# and GOCV_GC lets the linker drop the gocv wrappers nothing calls (highgui's
# windows among them). DEB_ARCH=arm64 on amd64 cross-compiles.
BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_HOST_ARCH=$(DEB_ARCH) dpkg-buildflags --get
GOCV_GC    := -ffunction-sections -fdata-sections
# GOCV_CGO: the cgo flags of a native GoCV build (Debian's hardening flags,
# OpenCV's headers, only the OpenCV libraries GOCV_OPENCV names); what
# build-gocv compiles is then reused from the build cache by check-train-loop.
GOCV_CGO = CGO_CFLAGS="$$($(BUILDFLAGS) CFLAGS) $(GOCV_GC)" CGO_CXXFLAGS="$$($(BUILDFLAGS) CXXFLAGS) $(GOCV_GC)" \
	CGO_CPPFLAGS="$$($(BUILDFLAGS) CPPFLAGS) $$(pkg-config --cflags-only-I opencv4)" \
	CGO_LDFLAGS="$$($(BUILDFLAGS) LDFLAGS) -Wl,--gc-sections -Wl,--as-needed $(foreach m,$(GOCV_OPENCV),-lopencv_$(m))"

build-gocv: check-go
ifeq ($(DEB_ARCH),$(NATIVE_ARCH))
	$(call apt-install,$(APT_RUN) dpkg-dev)
	$(GOCV_CGO) $(GO) build -tags customenv -buildmode=pie -trimpath -ldflags '$(LDFLAGS)' -o $(GOCV_BIN) ./cmd/coatnet
else ifeq ($(NATIVE_ARCH)-$(DEB_ARCH),amd64-arm64)
	$(MAKE) --no-print-directory $(ARM64_SYSROOT)/shlibs.local
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ \
	CGO_CFLAGS="$$($(BUILDFLAGS) CFLAGS) $(GOCV_GC)" CGO_CXXFLAGS="$$($(BUILDFLAGS) CXXFLAGS) --std=c++11 $(GOCV_GC)" \
	CGO_CPPFLAGS="$$($(BUILDFLAGS) CPPFLAGS) $$(pkg-config --cflags-only-I opencv4)" \
	CGO_LDFLAGS="$$($(BUILDFLAGS) LDFLAGS) -Wl,--gc-sections -Wl,--as-needed -L$(abspath $(ARM64_SYSROOT))/usr/lib/aarch64-linux-gnu $(foreach m,$(GOCV_OPENCV),-l:libopencv_$(m).so.406) -Wl,--allow-shlib-undefined" \
		$(GO) build -tags customenv -buildmode=pie -trimpath -ldflags '$(LDFLAGS)' -o $(GOCV_BIN) ./cmd/coatnet
else
	@echo "build-gocv: no cross build from $(NATIVE_ARCH) to $(DEB_ARCH): run make deb on a $(DEB_ARCH) machine (a Raspberry Pi or a Jetson builds arm64)"; exit 1
endif

# build-pure builds what is installed as PREFIX/bin/coatnet: pure Go
# (CGO_ENABLED=0, -tags nogocv), so every command starts without loading a
# shared library (README: "Measured"); it reads folders of pictures itself.
# PIE, as Debian builds its programs (lintian takes a static non-PIE binary
# for an error); Go links it itself, and it needs nothing but ld.so.
build-pure: check-go
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_ARCH) $(GO) build -buildmode=pie -tags nogocv -trimpath \
		-ldflags '$(LDFLAGS) -X main.gocvHelper=../$(GOCV_HELPER)' -o $(PURE_BIN) ./cmd/coatnet

# The arm64 cross build links against Debian's arm64 OpenCV 4.6 runtime
# libraries, unpacked into ARM64_SYSROOT by packaging/sysroot-arm64.sh (it
# says why, and how it fetches them without touching the machine's package
# configuration); the headers are the native libopencv-dev's. GOCV_OPENCV
# lists the modules gocv's kept code may name (camera/, demo/); one missing
# fails the link (imgcodecs: gocv's dropped IMWrite still names imwrite when
# symbols are resolved, so it stays NEEDED; videoio needs it anyway).
# --as-needed drops the others the linked code does not use. Without GOCV_GC's dead-section removal gocv's
# highgui.cpp (windows) would need highgui, and through it Qt 5. Their
# shlibs files give the package's Depends.
GOCV_OPENCV   := core imgproc imgcodecs videoio
ARM64_SYSROOT := bin/sysroot-arm64
APT_CROSS     := gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
$(ARM64_SYSROOT)/shlibs.local:
	$(call apt-install,$(APT_CROSS) $(APT_RUN) dpkg-dev)
	packaging/sysroot-arm64.sh $(ARM64_SYSROOT) $(foreach m,$(GOCV_OPENCV),libopencv-$(m)406)

# docs: the man pages (section 1, gzipped as Debian policy wants) and the
# bash, zsh and fish completions, written into DOCS_DIR by cobra's own
# generators from the commands (cmd/coatnet/docgen.go, built only with the
# docgen tag), run on the build machine whatever DEB_ARCH is. Generated at
# build time, not checked in, so they always match --help.
docs: check-go
	rm -rf $(DOCS_DIR)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		$(GO) run -tags 'nogocv docgen' -trimpath -ldflags '-X main.buildVersion=$(VERSION)' ./cmd/coatnet gendocs $(DOCS_DIR)

# install-files puts the files in place (DESTDIR, PREFIX, JETSON) and nothing
# else; install also builds, and on a live systemd system creates the user
# and reloads systemd. The service is not enabled: agent.yaml must name the
# camera and the broker first.
install: build-gocv build-pure docs
	$(MAKE) --no-print-directory install-files
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemd-sysusers $(SYSUSERSDIR)/coatnet.conf && systemctl daemon-reload && \
		echo "installed: edit $(CONFDIR)/agent.yaml, then systemctl enable --now coatnet-agent"; \
	else \
		echo "installed under $(or $(DESTDIR),/); no systemd here: run systemd-sysusers and systemctl daemon-reload on the target"; \
	fi

install-files:
	@test -x $(GOCV_BIN) || { echo "install-files: $(GOCV_BIN) is missing: make build-gocv"; exit 1; }
	@test -x $(PURE_BIN) || { echo "install-files: $(PURE_BIN) is missing: make build-pure"; exit 1; }
	install -D -m 0755 $(PURE_BIN) $(DESTDIR)$(PREFIX)/bin/coatnet
	install -D -m 0755 $(GOCV_BIN) $(DESTDIR)$(PREFIX)/$(GOCV_HELPER)
	@test -f $(DOCS_DIR)/man/coatnet.1.gz || { echo "install-files: $(DOCS_DIR) is missing: make docs"; exit 1; }
	install -d $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0644 $(DOCS_DIR)/man/*.1.gz $(DESTDIR)$(MANDIR)/
	install -m 0644 $(DOCS_DIR)/completions/coatnet $(DESTDIR)$(BASHCOMPDIR)/coatnet
	install -m 0644 $(DOCS_DIR)/completions/_coatnet $(DESTDIR)$(ZSHCOMPDIR)/_coatnet
	install -m 0644 $(DOCS_DIR)/completions/coatnet.fish $(DESTDIR)$(FISHCOMPDIR)/coatnet.fish
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(CONFDIR)
	sed 's|^ExecStart=/usr/bin/coatnet |ExecStart=$(PREFIX)/bin/coatnet |' systemd/coatnet-agent.service >$(DESTDIR)$(UNITDIR)/coatnet-agent.service
	grep -q '^ExecStart=$(PREFIX)/bin/coatnet ' $(DESTDIR)$(UNITDIR)/coatnet-agent.service
	install -m 0644 systemd/coatnet.sysusers $(DESTDIR)$(SYSUSERSDIR)/coatnet.conf
	install -m 0644 $(INSTALL_MODELS) systemd/coatnet-agent.service.d/jetson.conf $(DESTDIR)$(DATADIR)/
	sed 's|/usr/share/coatnet/|$(DATADIR)/|' systemd/agent.yaml >$(DESTDIR)$(DATADIR)/agent.yaml.example
	chmod 0644 $(DESTDIR)$(UNITDIR)/coatnet-agent.service $(DESTDIR)$(DATADIR)/agent.yaml.example
ifneq ($(JETSON),)
	install -D -m 0644 systemd/coatnet-agent.service.d/jetson.conf $(DESTDIR)$(UNITDIR)/coatnet-agent.service.d/jetson.conf
endif
	@if [ -e $(DESTDIR)$(CONFDIR)/agent.yaml ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/agent.yaml; this version's example: $(DESTDIR)$(DATADIR)/agent.yaml.example"; \
	else \
		install -m 0644 $(DESTDIR)$(DATADIR)/agent.yaml.example $(DESTDIR)$(CONFDIR)/agent.yaml; \
	fi

# uninstall removes what install put. Like dpkg with a changed conffile, it
# keeps /etc/coatnet/agent.yaml if it differs from the example installed with
# it; like dpkg's remove, it keeps the state directory and the coatnet user
# (a system user's files can outlive it; `rm -rf /var/lib/coatnet` and
# `userdel coatnet` finish the job by hand).
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now coatnet-agent.service 2>/dev/null || true; \
	fi
	@if [ -e $(DESTDIR)$(CONFDIR)/agent.yaml ]; then \
		if cmp -s $(DESTDIR)$(CONFDIR)/agent.yaml $(DESTDIR)$(DATADIR)/agent.yaml.example; then \
			rm -f $(DESTDIR)$(CONFDIR)/agent.yaml; \
		else \
			echo "keeping $(DESTDIR)$(CONFDIR)/agent.yaml: it was changed after install"; \
		fi; \
	fi
	rm -f $(DESTDIR)$(PREFIX)/bin/coatnet $(DESTDIR)$(PREFIX)/$(GOCV_HELPER) $(DESTDIR)$(UNITDIR)/coatnet-agent.service \
		$(DESTDIR)$(UNITDIR)/coatnet-agent.service.d/jetson.conf $(DESTDIR)$(SYSUSERSDIR)/coatnet.conf \
		$(addprefix $(DESTDIR)$(DATADIR)/,$(INSTALL_DATA)) $(DESTDIR)$(MANDIR)/coatnet.1.gz $(DESTDIR)$(MANDIR)/coatnet-*.1.gz \
		$(DESTDIR)$(BASHCOMPDIR)/coatnet $(DESTDIR)$(ZSHCOMPDIR)/_coatnet $(DESTDIR)$(FISHCOMPDIR)/coatnet.fish
	@for d in $(DESTDIR)$(UNITDIR)/coatnet-agent.service.d $(DESTDIR)$(DATADIR) $(DESTDIR)$(CONFDIR) $(dir $(DESTDIR)$(PREFIX)/$(GOCV_HELPER)); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; \
	done
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "uninstalled; kept: the coatnet user, /var/lib/coatnet (the MQTT store), $(CONFDIR)/mqtt-password if any"

# amd64 machines build the arm64 package too (cross); an arm64 machine (a Pi)
# builds its own.
DEB_ARCHES  ?= $(NATIVE_ARCH) $(if $(filter amd64,$(NATIVE_ARCH)),arm64)

deb: check-go
	@for a in $(DEB_ARCHES); do $(MAKE) --no-print-directory deb-arch DEB_ARCH=$$a VERSION='$(VERSION)' || exit 1; done

# deb-arch: one package, for DEB_ARCH, from a staged make install-files.
# Older packages of the architecture go first: every commit is a new
# version, and make test builds one each time.
deb-arch: build-gocv build-pure docs
	$(call apt-install,dpkg-dev)
	rm -f bin/coatnet-edge_*_$(DEB_ARCH).deb
	@stage=$$(mktemp -d) && trap 'rm -rf "$$stage"' EXIT && \
	$(MAKE) --no-print-directory install-files DESTDIR=$$stage PREFIX=/usr JETSON= >/dev/null && \
	GO=$(GO) DEB_MAINTAINER='$(MAINTAINER)' $(if $(filter $(NATIVE_ARCH),$(DEB_ARCH)),,SHLIBS_LOCAL=$(ARM64_SYSROOT)/shlibs.local \
		SHLIBS_DIRS="$(abspath $(ARM64_SYSROOT))/usr/lib/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib") \
	packaging/build-deb.sh $$stage $(DEB_ARCH) '$(VERSION)' bin

# check-systemd: for the unit, alone and with the Jetson drop-in,
# systemd-analyze verify prints nothing and systemd-analyze security
# --offline scores at most 2.0 (systemd/check-unit.sh); systemd-sysusers
# takes coatnet.sysusers and makes the unit's User= with the home the state
# directory and membership of video.
check-systemd: build-pure
	systemd/check-unit.sh systemd/coatnet-agent.service $(PURE_BIN)
	systemd/check-unit.sh systemd/coatnet-agent.service $(PURE_BIN) systemd/coatnet-agent.service.d/jetson.conf
	@root=$$(mktemp -d) && trap 'rm -rf "$$root"' EXIT && mkdir $$root/etc && \
	user=$$(sed -n 's/^User=//p' systemd/coatnet-agent.service) && \
	out=$$(systemd-sysusers --root=$$root $(CURDIR)/systemd/coatnet.sysusers 2>&1) && \
	grep -q "^$$user:x:[0-9]*:[0-9]*:coatnet-edge agent:/var/lib/coatnet:" $$root/etc/passwd && \
	grep -Eq "^video:x:[0-9]+:(.*,)?$$user(,|$$)" $$root/etc/group || { \
		echo "check-systemd: systemd-sysusers did not make user $$user in group video from systemd/coatnet.sysusers:"; \
		echo "$$out"; cat $$root/etc/passwd $$root/etc/group; exit 1; }; \
	echo "systemd/coatnet.sysusers: user $$user, home /var/lib/coatnet, in group video"

# check-install: install and uninstall into temporary DESTDIRs
# (packaging/check-install.sh says what is checked).
check-install: build-gocv build-pure docs
	MAKE='$(MAKE)' SYSTEM_UNITDIR=$(SYSTEM_UNITDIR) packaging/check-install.sh

# check-deb: build every package of DEB_ARCHES and check each unpacked, with
# lintian (packaging/check-deb.sh).
check-deb: deb
	$(call apt-install,lintian)
	@for a in $(DEB_ARCHES); do SYSTEM_UNITDIR=$(SYSTEM_UNITDIR) packaging/check-deb.sh bin/coatnet-edge_$(VERSION)_$$a.deb $$a || exit 1; done

# check-trixie (root; not in make test, README "Debian releases"): make
# test-camera and check-deb for the native architecture on Debian 13 (OpenCV
# 4.10), in a chroot made once in TRIXIE_ROOT by debootstrap and reused
# (packaging/check-trixie.sh); the trixie package lands in bin/trixie/.
TRIXIE_ROOT ?= bin/trixie-root
.PHONY: check-trixie
check-trixie:
	$(call apt-install,debootstrap)
	VERSION='$(VERSION)' DEB_MAINTAINER='$(MAINTAINER)' packaging/check-trixie.sh $(TRIXIE_ROOT) bin/trixie

clean:
	@! grep -qs " $(abspath $(TRIXIE_ROOT))/" /proc/mounts || { echo "clean: $(TRIXIE_ROOT) has mounts"; exit 1; }
	rm -rf bin
