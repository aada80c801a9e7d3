#!/usr/bin/env bash
# Extracts cuda.h and the libcuda.so link stub from Debian's nvidia-cuda-dev
# package into .cuda/ (about 1 MB), without installing the 5 GB package or a
# driver. That is all `go vet -tags cuda` / `go build -tags cuda` need on a
# machine without a GPU (docs: ../shared/docs/TOOLCHAIN.md section 2).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cuda
if [ -f "$out/usr/include/cuda.h" ] && [ -f "$out/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
src=/etc/apt/sources.list.d/debian-nonfree.sources
if ! apt-cache policy nvidia-cuda-dev 2>/dev/null | grep -q "Candidate: [0-9]"; then
  echo "cuda-headers: enabling Debian contrib/non-free for nvidia-cuda-dev"
  $sudo tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $sudo apt-get update -qq
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq nvidia-cuda-dev)
mkdir -p "$out"
dpkg-deb --fsys-tarfile "$tmp"/nvidia-cuda-dev_*.deb |
  tar -x -C "$out" ./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so
echo "cuda-headers: extracted cuda.h and the libcuda stub into $out/"
