#!/bin/sh
# Regenerates the embedded PTX of the kernels (make kernels). Needs Debian's
# nvidia-cuda-toolkit (nvcc 11.8); ptxas validates the output offline, no GPU
# needed. The driver JIT-compiles the PTX for the card at run time.
set -eu
cd "$(dirname "$0")"
for arch in 80 90; do
	nvcc -ptx -O3 -std=c++17 -arch=compute_$arch -o ops_sm$arch.ptx ops.cu
	ptxas -arch=sm_$arch -o /dev/null ops_sm$arch.ptx
done
echo "kernels: ops_sm80.ptx ops_sm90.ptx"
