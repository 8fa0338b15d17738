# coatnet-edge. `make run` and `make test` install what is missing on Debian
# or Raspberry Pi OS (apt-get, through sudo when not root), then do their job.

GO       ?= go
SHARED   ?= $(abspath ../shared)
export COATNET_CONFORMANCE ?= $(SHARED)/conformance/timm
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
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
APT_TEST := qemu-user binutils-aarch64-linux-gnu dataset-fashion-mnist mosquitto libopencv-dev g++ pkg-config

.PHONY: all build run test test-native test-camera test-arm64 check-train cross bench bench-arm64 vet fuzz deps deps-bench check-go clean mca

all: build

check-go:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is needed: https://go.dev/dl/ (tar -C /usr/local -xzf go1.26.*.linux-$$(dpkg --print-architecture).tar.gz)"; exit 1; }
	@$(GO) version | awk '{ split($$3, v, "[go.]"); if (v[3] < 1 || (v[3] == 1 && v[4] < 26)) { print "Go 1.26 or newer is needed, found " $$3; exit 1 } }'

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

# run builds the agent with GoCV and starts it on its defaults: the int8
# demo model built into the binary, a video of Fashion-MNIST test images
# made once in ~/.local/state/coatnet/demo, and an embedded MQTT broker on
# 127.0.0.1:1883. RUN_ARGS passes more, e.g. RUN_ARGS='--config my.yaml'.
# g++ and pkg-config: cgo compiles GoCV against OpenCV.
APT_RUN := libopencv-dev dataset-fashion-mnist g++ pkg-config
RUN_ARGS ?=
run: check-go
	$(call apt-install,$(APT_RUN))
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/coatnet
	./$(BIN) run $(RUN_ARGS)

test: deps check-go vet test-native test-camera test-arm64 check-train

test-native:
	$(GO) test -tags '$(TAGS)' -count=1 ./...

# The GoCV code with OpenCV through cgo, built with -tags matprofile so a
# test can check that every Mat is closed: the camera sources, the demo
# video, and the agent end to end on the demo video.
test-camera: check-go
	$(GO) vet -tags matprofile ./camera ./demo ./agent
	$(GO) test -tags matprofile -count=1 ./camera ./demo
	$(GO) test -tags matprofile -count=1 -run 'Demo' ./agent

# Cross-compiled tests executed under qemu-user, once per CPU model, so
# every code path a CPU feature selects is run, not just built.
test-arm64:
	@for cpu in $(QEMU_CPUS); do \
		echo "== arm64 tests under qemu-aarch64 -cpu $$cpu"; \
		CGO_ENABLED=0 GOARCH=arm64 $(GO) test -tags '$(TAGS)' -count=1 -short -timeout 30m \
			-exec "qemu-aarch64 -cpu $$cpu" $(ARM64_PKGS) || exit 1; \
	done

# The training model must reproduce timm; checked wherever PyTorch is
# installed (Debian's python3-torch), skipped elsewhere.
PYTHON_TORCH ?= /usr/bin/python3
check-train:
	@if $(PYTHON_TORCH) -c 'import torch' 2>/dev/null; then \
		$(PYTHON_TORCH) tools/train/check_conformance.py; \
	else \
		echo "check-train: no PyTorch for $(PYTHON_TORCH), skipping tools/train/check_conformance.py"; \
	fi

cross: check-go
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags nogocv -trimpath -ldflags '$(LDFLAGS)' -o bin/coatnet-linux-arm64 ./cmd/coatnet
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -tags nogocv -trimpath -ldflags '$(LDFLAGS)' -o bin/coatnet-linux-amd64 ./cmd/coatnet

bench: check-go
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 3x ./...

vet: check-go
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 GOARCH=arm64 $(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 GOARCH=riscv64 $(GO) build -tags '$(TAGS)' ./...

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

$(BENCH_MODEL): $(wildcard quant/*.go model/*.go internal/benchmodel/*.go tools/armbench/*.go)
	$(GO) run ./tools/armbench model -o $@

# fuzz runs every fuzz target for FUZZTIME (seeds alone run in `make test`).
FUZZTIME ?= 30s
fuzz: check-go
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# mca prints llvm-mca's cycles for the inner loops and whole channel
# blocks of the GEMM micro-kernels (arm64/testdata/mca, written by go
# generate in arm64/; see the package documentation for the figures).
mca:
	@command -v llvm-mca-19 >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq llvm-19; }
	@cd arm64/testdata/mca && for f in *.s; do \
		flags=$$(sed -n 's/^\/\/ llvm-mca-19 \(.*\) [^ ]*$$/\1/p' $$f); \
		echo "== llvm-mca-19 $$flags $$f"; llvm-mca-19 $$flags $$f | sed -n '1,4p'; \
	done

clean:
	rm -rf bin
