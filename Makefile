# SenseNova Studio — build, run and test.
#
#   make run    build both binaries and open the desktop app
#   make test   run every test
#   make vet    gofmt check + go vet (also with -tags cuda when cuda.h is at hand)
#
# Each target installs the Debian/Ubuntu packages it needs (scripts/ensure-packages.sh)
# and fetches Go modules, so a fresh machine with Go needs nothing else.

GO      ?= go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/sensenova/studio/internal/version.Version=$(VERSION)

# cgo + OpenGL/X11 headers for Fyne's window (and for compiling the app package in tests).
GUI_PACKAGES := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
                libxinerama-dev libxi-dev libxxf86vm-dev

# The real-window end-to-end test (e2e/): a virtual display, keyboard and screenshots.
TEST_PACKAGES := xvfb xauth xdotool imagemagick

# cuda.h + libcuda stub: system-wide (nvidia-cuda-dev) or extracted by `make cuda-headers`.
CUDA_LOCAL := $(CURDIR)/.cuda
ifneq ($(wildcard $(CUDA_LOCAL)/usr/include/cuda.h),)
CUDA_ENV := CGO_CFLAGS="-I$(CUDA_LOCAL)/usr/include" CGO_LDFLAGS="-L$(CUDA_LOCAL)/usr/lib/x86_64-linux-gnu/stubs"
HAVE_CUDA_H := yes
else ifneq ($(wildcard /usr/include/cuda.h),)
HAVE_CUDA_H := yes
endif

.PHONY: all build run test vet deps test-deps modules cuda-headers build-cuda kernels screenshots clean

all: build

deps: modules
	@scripts/ensure-packages.sh $(GUI_PACKAGES)

modules:
	@$(GO) mod download

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/sensenova ./inference/cmd/sensenova
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/sensenova-studio .

run: build
	LANG=$${LANG:-en_US.UTF-8} ./bin/sensenova-studio

test-deps: deps
	@scripts/ensure-packages.sh $(TEST_PACKAGES)

test: test-deps
	LANG=en_US.UTF-8 $(GO) test -count=1 ./...

# Regenerate docs/screenshots/: every screen rendered headless on the demo
# model, and the real window under Xvfb.
screenshots: test-deps
	mkdir -p docs/screenshots
	SENSENOVA_SCREENSHOTS=$(CURDIR)/docs/screenshots LANG=en_US.UTF-8 $(GO) test -count=1 -run 'Screenshot|TestWindowMakesAPicture' ./ui ./e2e

vet: deps
	@unformatted=$$(gofmt -l .); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
ifeq ($(HAVE_CUDA_H),yes)
	$(CUDA_ENV) $(GO) vet -tags cuda ./...
	$(CUDA_ENV) $(GO) build -tags cuda -o /dev/null ./inference/cmd/sensenova
else
	@echo "vet: cuda.h not found: skipped the -tags cuda check (make cuda-headers extracts it)"
endif

# Extract cuda.h and the libcuda link stub from Debian non-free into .cuda/ (no GPU needed).
cuda-headers:
	@scripts/cuda-headers.sh

# Regenerate the embedded PTX of the CUDA kernels (gpu/kernels/*.cu) for
# compute_80 and compute_90; needs Debian's nvidia-cuda-toolkit (nvcc 11.8),
# no GPU. The .ptx files are committed, so building never needs nvcc.
kernels:
	sh gpu/kernels/build.sh

# The engine with the CUDA backend (needs cuda.h: make cuda-headers).
build-cuda: deps
	$(CUDA_ENV) $(GO) build -tags cuda -ldflags '$(LDFLAGS)' -o bin/sensenova-cuda ./inference/cmd/sensenova

clean:
	rm -rf bin
