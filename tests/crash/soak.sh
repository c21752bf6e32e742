#!/usr/bin/env bash
# Long crash soak: the crash test with many more kills. Usage: tests/crash/soak.sh [BUILD_DIR]
# Environment: RS_CRASH_ITERATIONS (default 2000), RS_CRASH_SECONDS (default 3600), RS_CRASH_SEED.
set -euo pipefail
build=${1:-build/release}
export RS_CRASH_ITERATIONS=${RS_CRASH_ITERATIONS:-2000}
export RS_CRASH_SECONDS=${RS_CRASH_SECONDS:-3600}
export RS_CRASH_SEED=${RS_CRASH_SEED:-$RANDOM}
echo "soak: seed $RS_CRASH_SEED, up to $RS_CRASH_ITERATIONS kills in $RS_CRASH_SECONDS s"
exec "$build/tests/crash/crash_test" --gtest_brief=1
