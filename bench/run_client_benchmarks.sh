#!/usr/bin/env bash
# Runs the client/broker benchmarks of docs/benchmarks.md ("Client over loopback") in one
# invocation with the peers of ../shared/bench/peers_bench.sh, so every ratio comes from the
# same minutes on the same machine. Starts its own namesrvd + brokerd (ASYNC_FLUSH, a scratch
# store, loopback ports) and drives them with rs_load; prints a markdown table of the issue's
# targets, our figures (median of REPS runs) and the peers' figures.
#
# Usage: bench/run_client_benchmarks.sh [BUILD_DIR]     (default build/release, must be built
#        with rs_load, brokerd and namesrvd: cmake --build --preset release)
# Env:   REPS (runs of each of ours, default 3), SECONDS_PER_RUN (default 5),
#        PEERS=0 to skip the peers, PEER_REPS (default 1), OUT (results dir, default a temp dir)
# Needs: python3 (tables), taskset (util-linux), ~4 GB free in OUT. Runtime: ~4 min ours + ~2 min peers.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build/release}
REPS=${REPS:-3}
SECS=${SECONDS_PER_RUN:-5}
PEERS=${PEERS:-1}
PEER_REPS=${PEER_REPS:-1}
OUT=${OUT:-$(mktemp -d /var/tmp/client_bench.XXXXXX)}
L="$build/bench/rs_load"
for b in "$L" "$build/brokerd/brokerd" "$build/brokerd/namesrvd"; do
  [ -x "$b" ] || { echo "missing $b: build first (cmake --build --preset release)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "python3 is needed for the tables" >&2; exit 1; }
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores, results in $OUT"

# ---- peers first (same invocation) -------------------------------------------------------------
peers_tsv=""
if [ "$PEERS" = 1 ]; then
  if [ -f "$here/../shared/bench/peers_bench.sh" ]; then
    WORK="$OUT/peers" REPS="$PEER_REPS" WITH_RABBITMQ=0 bash "$here/../shared/bench/peers_bench.sh" \
      > "$OUT/peers.txt" 2> "$OUT/peers.log" || echo "peers_bench.sh failed, see $OUT/peers.log" >&2
    cat "$OUT/peers.txt"
    peers_tsv="$OUT/peers/results.tsv"
  else
    echo "../shared/bench/peers_bench.sh not found beside the checkout: peers skipped" >&2
  fi
fi

# ---- our daemons ------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NSPORT=$(free_port); BRPORT=$(free_port)
mkdir -p "$OUT/ours"
cat > "$OUT/ours/namesrv.conf" <<EOF
listenPort=$NSPORT
kvConfigPath=$OUT/ours/kvConfig.json
EOF
cat > "$OUT/ours/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-bench
brokerId=0
brokerIP1=127.0.0.1
listenPort=$BRPORT
namesrvAddr=127.0.0.1:$NSPORT
storePathRootDir=$OUT/ours/store
flushDiskType=ASYNC_FLUSH
brokerRole=ASYNC_MASTER
autoCreateTopicEnable=true
maxTransferCountOnMessageInMemory=1024
maxTransferBytesOnMessageInMemory=1048576
EOF
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$build/brokerd/namesrvd" -c "$OUT/ours/namesrv.conf" > "$OUT/ours/namesrvd.log" 2>&1 & pids+=($!)
"$build/brokerd/brokerd" -c "$OUT/ours/broker.conf" > "$OUT/ours/brokerd.log" 2>&1 & pids+=($!)
BRPID=$!
NS="127.0.0.1:$NSPORT"
for i in $(seq 100); do
  "$L" produce --namesrv "$NS" --topic Warmup --count 1 --duration 0 --quiet >/dev/null 2>&1 && break
  sleep 0.2
done

# run NAME ARGS...: REPS runs of rs_load, each summary in $OUT/ours/NAME.N.json. With PIN=1 the
# broker's threads and rs_load all run on CPU 0 (taskset): a wake-up then never crosses CPUs,
# which on this virtual machine costs tens of microseconds each (see docs/benchmarks.md).
run() {
  local name=$1; shift
  local pre=()
  if [ "${PIN:-0}" = 1 ]; then
    taskset -a -p -c 0 "$BRPID" >/dev/null; pre=(taskset -c 0)
  fi
  for r in $(seq "$REPS"); do
    echo "+ ${pre[*]} rs_load $* --duration $SECS" >&2
    "${pre[@]}" "$L" "$@" --namesrv "$NS" --duration "$SECS" --quiet --json "$OUT/ours/$name.$r.json" >&2 || true
  done
  if [ "${PIN:-0}" = 1 ]; then taskset -a -p -c "0-$(( $(nproc) - 1 ))" "$BRPID" >/dev/null; fi
}
med() { # med NAME FIELD...: median over the runs of a (nested) JSON field
  python3 - "$OUT/ours" "$@" <<'EOF'
import json, sys, glob, statistics
d, name, *path = sys.argv[1:]
vals = []
for f in sorted(glob.glob(f"{d}/{name}.*.json")):
    v = json.load(open(f))
    for p in path:
        v = v[p]
    vals.append(v)
print(statistics.median(vals) if vals else "nan")
EOF
}

run p100_batch   produce --topic B100  --size 100  --threads 4 --batch 256
run p1k_batch    produce --topic B1K   --size 1024 --threads 4 --batch 64
run p100_window  produce --topic W100  --size 100  --threads 4 --inflight 64
run p100_winbin  produce --topic W100  --size 100  --threads 4 --inflight 64 --serialize rocketmq
run p1k_window   produce --topic W1K   --size 1024 --threads 4 --inflight 64
run p100_one     produce --topic O100  --size 100  --threads 1 --inflight 1
PIN=1 run p100_one_pin produce --topic O100 --size 100 --threads 1 --inflight 1
half=$(python3 -c "print(int(float('$(med p1k_window send_msgs_per_s)') / 2))")
run e2e1k_half   e2e --topic E1K --size 1024 --threads 4 --inflight 16 --rate "$half"
run e2e1k_5k     e2e --topic E1K --size 1024 --threads 4 --inflight 16 --rate 5000
PIN=1 run e2e1k_5k_pin e2e --topic E1K --size 1024 --threads 2 --inflight 16 --rate 5000
# Consume from the page cache: what the 100 B batch runs stored (a fresh group each run), with
# PullVisit (views, one thread per queue) and with the push consumer (copies), 1024 per pull
# (the broker allows it: maxTransferCountOnMessageInMemory above) and the default 32.
consume() { # name args...
  local name=$1; shift
  for r in $(seq "$REPS"); do
    echo "+ rs_load consume --topic B100 --from first $*" >&2
    "$L" consume --namesrv "$NS" --topic B100 --group "bench_${name}_$r" --from first \
      --duration 30 --idle 2 --quiet --json "$OUT/ours/$name.$r.json" "$@" >&2 || true
  done
}
consume c100_view --pull --pull-batch 1024
consume c100_push --pull-batch 1024 --consume-batch 1024
consume c100_push32

# ---- table ------------------------------------------------------------------------------------
python3 - "$OUT/ours" "$peers_tsv" "$half" <<'EOF' | tee "$OUT/table.md"
import json, sys, glob, statistics, collections
d, peers_tsv, half = sys.argv[1], sys.argv[2], sys.argv[3]
def med(name, *path):
    vals = []
    for f in sorted(glob.glob(f"{d}/{name}.*.json")):
        v = json.load(open(f))
        for p in path: v = v[p]
        vals.append(v)
    return statistics.median(vals) if vals else float("nan")
peer = collections.defaultdict(list)
if peers_tsv:
    try:
        for line in open(peers_tsv):
            s, dur, size, metric, val = line.rstrip("\n").split("\t")
            try: peer[(s, dur, size, metric)].append(float(val))
            except ValueError: pass
    except FileNotFoundError: pass
def p(s, dur, size, metric):
    v = peer.get((s, dur, size, metric))
    return f"{statistics.median(v):,.0f}" if v else "-"
R, N = ("redis-streams", "aof-everysec"), ("nats-jetstream", "file-default-sync2min")
def k(x): return f"{x:,.0f}"
rows = [
  ("produce, client batching, 100 B", ">= 1,000,000 msg/s", k(med("p100_batch","send_msgs_per_s")) + " msg/s (256/batch, 4 threads)", p(*R,"100","produce_msgs_per_s"), p(*N,"100","produce_msgs_per_s")),
  ("produce, client batching, 1 KiB", ">= 300,000 msg/s", k(med("p1k_batch","send_msgs_per_s")) + " msg/s (64/batch, 4 threads)", p(*R,"1024","produce_msgs_per_s"), p(*N,"1024","produce_msgs_per_s")),
  ("produce, 1 msg/request, 256 in flight, 100 B", ">= 250,000 msg/s", k(med("p100_window","send_msgs_per_s")) + " msg/s (JSON header), " + k(med("p100_winbin","send_msgs_per_s")) + " (ROCKETMQ header)", p(*R,"100","produce_msgs_per_s"), p(*N,"100","produce_msgs_per_s")),
  ("produce, 1 msg/request, 256 in flight, 1 KiB", "(peak for e2e)", k(med("p1k_window","send_msgs_per_s")) + " msg/s", p(*R,"1024","produce_msgs_per_s"), p(*N,"1024","produce_msgs_per_s")),
  ("strictly 1 in flight, 100 B", ">= 20,000 req/s, p50 <= 60 us, p99 <= 300 us",
     f"{k(med('p100_one','send_msgs_per_s'))} req/s, p50 {med('p100_one','send_latency_us','p50'):.0f} us, p99 {med('p100_one','send_latency_us','p99'):.0f} us",
     f"{p(*R,'100','unbatched_msgs_per_s')} req/s, {p(*R,'100','unbatched_p50_us')} / {p(*R,'100','unbatched_p99_us')} us",
     f"{p(*N,'100','unbatched_msgs_per_s')} req/s, {p(*N,'100','unbatched_p50_us')} / {p(*N,'100','unbatched_p99_us')} us"),
  ("strictly 1 in flight, 100 B, client and broker on one CPU", "(same)",
     f"{k(med('p100_one_pin','send_msgs_per_s'))} req/s, p50 {med('p100_one_pin','send_latency_us','p50'):.0f} us, p99 {med('p100_one_pin','send_latency_us','p99'):.0f} us", "-", "-"),
  (f"end-to-end at half peak ({int(half):,} msg/s), 1 KiB", "p50 <= 200 us, p99 <= 1 ms",
     f"p50 {med('e2e1k_half','e2e_latency_us','p50'):.0f} us, p99 {med('e2e1k_half','e2e_latency_us','p99'):.0f} us ({k(med('e2e1k_half','send_msgs_per_s'))} msg/s sent)", "-", "-"),
  ("end-to-end at 5,000 msg/s, 1 KiB", "(low load)",
     f"p50 {med('e2e1k_5k','e2e_latency_us','p50'):.0f} us, p99 {med('e2e1k_5k','e2e_latency_us','p99'):.0f} us; on one CPU: p50 {med('e2e1k_5k_pin','e2e_latency_us','p50'):.0f} us, p99 {med('e2e1k_5k_pin','e2e_latency_us','p99'):.0f} us", "-", "-"),
  ("consume from page cache, 100 B", ">= 2,000,000 msg/s",
     f"{k(med('c100_view','recv_msgs_per_s'))} msg/s (PullVisit, 1024/pull); push consumer {k(med('c100_push','recv_msgs_per_s'))} (1024/pull), {k(med('c100_push32','recv_msgs_per_s'))} (32/pull)",
     p(*R,"100","consume_msgs_per_s"), p(*N,"100","consume_msgs_per_s")),
]
print()
print("| benchmark | target | ours (median of runs) | Redis Streams (AOF everysec) | NATS JetStream |")
print("|---|---|---|---|---|")
for r in rows: print("| " + " | ".join(r) + " |")
EOF
