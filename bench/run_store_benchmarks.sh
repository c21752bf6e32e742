#!/usr/bin/env bash
# Runs every libstore benchmark of docs/benchmarks.md in one invocation, raw reference figures
# first, so ratios come from the same minutes on the same machine.
# Usage: bench/run_store_benchmarks.sh [BUILD_DIR] [SCRATCH_DIR]
# SCRATCH_DIR needs ~12 GB free (the 100 B run writes 8 GiB).
set -euo pipefail
build=${1:-build/release}
scratch=${2:-$(mktemp -d /var/tmp/store_bench.XXXXXX)}
B="$build/bench/store_bench"
run() { echo "+ store_bench $*"; "$B" "$@" --dir="$scratch"; rm -rf "${scratch:?}"/*; }
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores"
run --mode=raw --bytes=4G
run --mode=async --size=100 --bytes=8G
run --mode=async --size=1024 --bytes=8G
run --mode=sync --size=1024 --threads=4 --inflight=256 --seconds=20
run --mode=sync --size=1024 --threads=1 --seconds=10
run --mode=recover --size=1024 --bytes=4G
run --mode=lookup --size=100 --count=1000000
"$build/bench/micro_bench" --benchmark_min_time=0.2 2>/dev/null
