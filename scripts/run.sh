#!/usr/bin/env bash
# The main job: install what is missing, build the release preset, and run the embedded demo
# (writes, reads back and queries a store; no networking). Usage: scripts/run.sh [STORE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release -DRS_BUILD_TESTS=OFF -DRS_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target embedded_demo
dir=${1:-/tmp/rocketstore-demo}
./build/release/examples/embedded_demo "$dir" 1000
