#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every test in two builds,
# Debug with ASan+UBSan and Release (unit, golden, fixture compatibility, crash and fuzz-corpus
# replay tests, the ali-ons npm client suite), and checks that the clang/libFuzzer build compiles.
# Environment: RS_TEST_JOBS (parallel test processes, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=${RS_TEST_JOBS:-2}
if [ ! -d ../shared/fixtures ]; then
  echo "note: ../shared/fixtures is absent; the fixture compatibility tests will report SKIPPED"
fi
# The ali-ons suite (tests/npm, CTest label npm) runs against the pinned npm client: install it
# exactly as package-lock.json says. A failure here leaves the npm tests failing, not skipped.
npm_ci() {
  echo "=== npm ci (tests/npm: ali-ons)"
  (cd tests/npm && npm ci --no-audit --no-fund --loglevel=error)
}
status=0
npm_ci || status=1
for preset in asan release; do
  echo "=== build: $preset"
  cmake --preset "$preset" -DRS_BUILD_TESTS=ON -DRS_BUILD_BENCH=$([ "$preset" = release ] && echo ON || echo OFF) >/dev/null
  cmake --build --preset "$preset"
  echo "=== test: $preset"
  # ASan: the mappings are large and sparse; keep leak checking on.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --preset "$preset" -j "$jobs" --timeout 900 --no-tests=error; then
    status=1
  fi
done
echo "=== build: fuzz (clang 14 + libFuzzer)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
exit $status
