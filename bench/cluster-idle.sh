#!/usr/bin/env bash
# What the nodes of a loopback cluster spend at rest (membership, heartbeats, link measurement):
# the CPU of each node process, sampled from /proc, and the throughput-probe bytes each node
# received and served (`herd_probe_bytes_total` in /metrics), over a window after the cluster formed.
#   bash bench/cluster-idle.sh [window-seconds] [nodes] [settle-seconds]   # default 120 s, 3 nodes, 60 s
#   bash bench/cluster-idle.sh 120 12 240                    # the 12-node figure in the README
# The settle time lets each node probe the throughput of its new links first (within its budget).
set -euo pipefail
window=${1:-120}
count=${2:-3}
settle=${3:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
homes=$(mktemp -d)
engine=$(cd "$root" && npx herd engine build 2>/dev/null)
cleanup() { pkill -INT -f "home $homes/" || true; sleep 2; rm -rf "$homes"; }
trap cleanup EXIT
start() { # name api-port cluster-port extra...
  local name=$1 api=$2 cluster=$3; shift 3
  mkdir -p "$homes/$name"
  HERD_CALIBRATE=off HERD_ENGINE_DIR=$engine node --import tsx "$root/src/cli/main.ts" start --home "$homes/$name/" \
    --name "$name" --port "$api" --cluster-port "$cluster" --no-discovery "$@" >"$homes/$name.log" 2>&1 &
}
start n1 18501 18601
sleep 3
token=$(node --import tsx "$root/src/cli/main.ts" --url http://127.0.0.1:18501 join-token)
for index in $(seq 2 "$count"); do start "n$index" $((18500 + index)) $((18600 + index)) --join "$token"; done
# Formed: every node lists every other as alive.
for attempt in $(seq 1 120); do
  alive=$(curl -s http://127.0.0.1:18501/herd/v1/cluster | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).nodes.filter(n=>n.state==="alive").length)}catch{console.log(0)}})')
  [ "$alive" = "$count" ] && break
  sleep 1
done
echo "$alive of $count nodes alive; waiting ${settle} s for the first link measurements to settle"
sleep "$settle"
ticks() { local total=0; for pid in $(pgrep -f "home $homes/"); do total=$((total + $(awk '{print $14+$15}' /proc/$pid/stat))); done; echo $total; }
probes() { # received and sent probe bytes, summed over the nodes
  local port total_received=0 total_sent=0
  for index in $(seq 1 "$count"); do
    port=$((18500 + index))
    read -r received sent < <(curl -s "http://127.0.0.1:$port/metrics" | awk '
      /^herd_probe_bytes_total.*direction="received"/ { r = $NF }
      /^herd_probe_bytes_total.*direction="sent"/ { s = $NF }
      END { printf "%d %d\n", r, s }')
    total_received=$((total_received + received)); total_sent=$((total_sent + sent))
  done
  echo "$total_received $total_sent"
}
read -r received_before sent_before < <(probes)
before=$(ticks); sleep "$window"; after=$(ticks)
read -r received_after sent_after < <(probes)
hz=$(getconf CLK_TCK)
echo "$count nodes, ${window} s at rest: $((after - before)) ticks of 1/${hz} s"
awk -v t=$((after - before)) -v w="$window" -v hz="$hz" -v n="$count" \
  'BEGIN { printf "per node: %.3f%% of one core\n", 100 * t / hz / w / n }'
awk -v r=$((received_after - received_before)) -v s=$((sent_after - sent_before)) -v w="$window" -v n="$count" \
  'BEGIN { printf "probe bytes per node per minute: %.2f MiB received, %.2f MiB sent\n", r / n / w * 60 / 1048576, s / n / w * 60 / 1048576 }'
