#!/usr/bin/env bash
# CPU used at rest by the nodes of a 3-node loopback cluster (membership, heartbeats, link
# measurement every minute), sampled from /proc over a window after the cluster formed.
#   bash bench/cluster-idle.sh [window-seconds]
set -euo pipefail
window=${1:-120}
root=$(cd "$(dirname "$0")/.." && pwd)
homes=$(mktemp -d)
engine=$(cd "$root" && npx herd engine build 2>/dev/null)
cleanup() { pkill -INT -f "home $homes/" || true; sleep 1; rm -rf "$homes"; }
trap cleanup EXIT
start() { # name api-port cluster-port extra...
  local name=$1 api=$2 cluster=$3; shift 3
  mkdir -p "$homes/$name"
  HERD_ENGINE_DIR=$engine node --import tsx "$root/src/cli/main.ts" start --home "$homes/$name/" --name "$name" \
    --port "$api" --cluster-port "$cluster" --no-discovery "$@" >"$homes/$name.log" 2>&1 &
}
start a 18501 18601
sleep 3
token=$(node --import tsx "$root/src/cli/main.ts" --url http://127.0.0.1:18501 join-token)
start b 18502 18602 --join "$token"
start c 18503 18603 --join "$token"
sleep 10
ticks() { local total=0; for pid in $(pgrep -f "home $homes/"); do total=$((total + $(awk '{print $14+$15}' /proc/$pid/stat))); done; echo $total; }
before=$(ticks); sleep "$window"; after=$(ticks)
hz=$(getconf CLK_TCK)
echo "3 nodes, ${window} s at rest: $((after - before)) ticks of 1/${hz} s"
awk -v t=$((after - before)) -v w="$window" -v hz="$hz" 'BEGIN { printf "per node: %.3f%% of one core\n", 100 * t / hz / w / 3 }'
