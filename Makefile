# SenseNova Studio — build, run and test.
#
#   make run    build both binaries and open the desktop app
#   make test   run every test
#   make vet    gofmt check + go vet (also with -tags cuda when cuda.h is at hand)
#   make package  the Linux .deb and tar.xz and the Windows installer, into dist/
#                 (packaging/README.md)
#
# Each target installs the Debian/Ubuntu packages it needs (scripts/ensure-packages.sh)
# and fetches Go modules, so a fresh machine with Go needs nothing else.

GO      ?= go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/sensenova/studio/internal/version.Version=$(VERSION)
# Commits so far: the package version of an untagged build (packaging/README.md).
COMMITS := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)

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

.PHONY: all build run test vet deps test-deps modules cuda-headers build-cuda kernels screenshots clean \
        package package-linux package-windows package-linux-check

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

# Release packages (packaging/README.md): every binary built with -trimpath,
# without VCS stamping, stripped, without a build ID (it hashes the inputs,
# CGO_CFLAGS' absolute .cuda path among them) and stamped with $(VERSION).
RELEASE_FLAGS := -trimpath -buildvcs=false
RELEASE_LDFLAGS := -s -w -buildid= $(LDFLAGS)
LINUX_BIN := dist/build/linux-amd64
# .cuda/ always exists after `make cuda-headers`, so the release builds name it
# whatever cuda.h the system has.
CUDA_RELEASE_ENV := CGO_CFLAGS="-I$(CUDA_LOCAL)/usr/include" CGO_LDFLAGS="-L$(CUDA_LOCAL)/usr/lib/x86_64-linux-gnu/stubs"
LINUX_PACKAGE_TOOLS := dpkg-dev xz-utils desktop-file-utils
WINDOWS_PACKAGE_TOOLS := gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 nsis wixl msitools p7zip-full wine64

package: package-linux package-windows

# dist/sensenova-studio_<version>_amd64.deb and dist/sensenova-studio-<version>-linux-amd64.tar.xz
package-linux: deps cuda-headers
	@scripts/ensure-packages.sh $(LINUX_PACKAGE_TOOLS)
	$(GO) build $(RELEASE_FLAGS) -ldflags '$(RELEASE_LDFLAGS)' -o $(LINUX_BIN)/sensenova-studio .
	$(GO) build $(RELEASE_FLAGS) -ldflags '$(RELEASE_LDFLAGS)' -o $(LINUX_BIN)/sensenova ./inference/cmd/sensenova
	$(CUDA_RELEASE_ENV) $(GO) build -tags cuda $(RELEASE_FLAGS) -ldflags '$(RELEASE_LDFLAGS)' -o $(LINUX_BIN)/sensenova-cuda ./inference/cmd/sensenova
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/linux/package.sh $(LINUX_BIN) dist
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/linux/check.sh dist

# CI's quick check of the Linux recipe (about a minute after `make test`): the
# same packing and checks, on binaries built with the flags the tests already
# compiled with (no -trimpath, so nothing is recompiled), into dist/ci/.
package-linux-check: deps cuda-headers
	@scripts/ensure-packages.sh dpkg-dev xz-utils
	$(GO) build -ldflags '$(RELEASE_LDFLAGS)' -o dist/ci/bin/sensenova-studio .
	$(GO) build -ldflags '$(RELEASE_LDFLAGS)' -o dist/ci/bin/sensenova ./inference/cmd/sensenova
	$(CUDA_RELEASE_ENV) $(GO) build -tags cuda -ldflags '$(RELEASE_LDFLAGS)' -o dist/ci/bin/sensenova-cuda ./inference/cmd/sensenova
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/linux/package.sh dist/ci/bin dist/ci
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/linux/check.sh dist/ci

# dist/sensenova-studio-<version>-windows-amd64-setup.exe (NSIS) and .msi
# (wixl), cross-compiled with Debian's mingw-w64.
package-windows: modules cuda-headers
	@scripts/ensure-packages.sh $(WINDOWS_PACKAGE_TOOLS)
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/windows/package.sh dist
	GO=$(GO) VERSION=$(VERSION) COMMITS=$(COMMITS) packaging/windows/check.sh dist

clean:
	rm -rf bin dist
