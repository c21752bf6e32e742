#!/usr/bin/env bash
# The main job: install what is missing, build the release preset, then
#  1. run the embedded libstore demo (no networking: write, read back, query a store), and
#  2. start a name server (127.0.0.1:9876) and a broker (127.0.0.1:10911) on their embedded
#     default configs, show a produce/consume round trip through them, and keep both serving
#     until interrupted (Ctrl-C stops them cleanly).
# Usage: scripts/run.sh [--no-serve]   (--no-serve: stop after the round trip)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release -DRS_BUILD_TESTS=OFF -DRS_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target embedded_demo namesrvd brokerd rs_roundtrip
bin=build/release
echo "=== embedded libstore demo"
"$bin/examples/embedded_demo" /tmp/rocketstore-demo 1000

echo "=== name server and broker on 127.0.0.1"
for port in 9876 10911; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use on 127.0.0.1: stop whatever listens there first" >&2
    exit 1
  fi
done
br=""
stop() { [ -n "$br" ] && { kill -TERM "$br" 2>/dev/null; wait "$br" 2>/dev/null || true; }
         kill -TERM "$ns" 2>/dev/null; wait "$ns" 2>/dev/null || true; }
trap 'stop; exit 130' INT TERM
"$bin/brokerd/namesrvd" & ns=$!
# The broker registers with the name server as it starts: let the name server listen first.
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/9876) 2>/dev/null && break
  sleep 0.1
done
"$bin/brokerd/brokerd" & br=$!
ok=0
for _ in $(seq 1 50); do  # the broker registers with the name server right after it starts
  if "$bin/tools/rs_roundtrip" --count 8 >/tmp/rs_roundtrip.out 2>&1; then ok=1; break; fi
  sleep 0.2
done
cat /tmp/rs_roundtrip.out
if [ "$ok" != 1 ]; then stop; exit 1; fi
if [ "${1:-}" = "--no-serve" ]; then stop; exit 0; fi
echo "=== serving: name server 127.0.0.1:9876, broker 127.0.0.1:10911 (Ctrl-C to stop)"
wait "$br"
