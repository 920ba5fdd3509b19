#!/bin/bash
# fanout_tools.sh NSQD CHANNELS [MEM_QUEUE_SIZE] [SECONDS]
#
# Fan-out with one message per publish, measured with upstream's own load
# tools: one nsqd (fresh data path), topic sub_bench with CHANNELS channels,
# one bench_reader per channel (each GOMAXPROCS connections, RDY 2500, FIN
# per message), then bench_writer --batch-size=1 (GOMAXPROCS connections,
# one PUB per round trip) for SECONDS. The readers start first and run one
# second longer, so they take what the writer published. Prints the
# writer's publish rate and the messages delivered per second of the
# writer's run, all channels together. MEM_QUEUE_SIZE (default: none, the
# broker's default) is passed as --mem-queue-size.
#
# PROFILE=file captures a CPU profile of the broker during the run.
# BENCH_TOOLS (default /work/upstream/bin) holds bench_writer and bench_reader.
set -euo pipefail
NSQD=$1 CH=$2 MEMQ=${3:-} SECS=${4:-5}
TOOLS=${BENCH_TOOLS:-/work/upstream/bin}
PORT=$((20000 + RANDOM % 20000))
TCP=127.0.0.1:$PORT HTTP=127.0.0.1:$((PORT + 1))
DIR=$(mktemp -d)
args=(--tcp-address=$TCP --http-address=$HTTP --data-path=$DIR --log-level=error)
[[ -n "$MEMQ" ]] && args+=(--mem-queue-size=$MEMQ)
"$NSQD" "${args[@]}" >"$DIR/nsqd.log" 2>&1 &
NPID=$!
trap 'kill $NPID 2>/dev/null; wait $NPID 2>/dev/null; rm -rf "$DIR"' EXIT
for i in $(seq 100); do curl -sf "http://$HTTP/ping" >/dev/null && break; sleep 0.05; done
curl -sf -X POST "http://$HTTP/topic/create?topic=sub_bench" >/dev/null
for i in $(seq $CH); do curl -sf -X POST "http://$HTTP/channel/create?topic=sub_bench&channel=ch$i" >/dev/null; done
RP=()
for i in $(seq $CH); do
  "$TOOLS/bench_reader" --nsqd-tcp-address=$TCP --runfor=$((SECS + 1))s --size=200 --channel=ch$i >"$DIR/r$i.log" 2>&1 &
  RP+=($!)
done
sleep 0.3
[[ -n "${PROFILE:-}" ]] && { curl -s "http://$HTTP/debug/pprof/profile?seconds=$((SECS - 1))" >"$PROFILE" & }
io0=($(awk '/^sysc[rw]/{print $2}' /proc/$NPID/io))
cpu0=$(awk '{print $14 + $15}' /proc/$NPID/stat)
"$TOOLS/bench_writer" --nsqd-tcp-address=$TCP --runfor=${SECS}s --size=200 --batch-size=1 >"$DIR/w.log" 2>&1
for p in "${RP[@]}"; do wait $p || true; done
io1=($(awk '/^sysc[rw]/{print $2}' /proc/$NPID/io))
cpu1=$(awk '{print $14 + $15}' /proc/$NPID/stat)
# "duration: 5.0001s - 1.234mb/s - 12345.678ops/s - 81.000us/op"
parse() { sed -n 's/.*duration: \([0-9.]*\)\(m\?s\) - .* - \([0-9.]*\)ops\/s.*/\1 \2 \3/p' "$1"; }
read wd wu wops < <(parse "$DIR/w.log")
[[ $wu == ms ]] && wd=$(echo "$wd/1000" | bc -l)
tot=0
for i in $(seq $CH); do
  read d u ops < <(parse "$DIR/r$i.log") || { echo "reader $i failed:"; cat "$DIR/r$i.log"; exit 1; }
  [[ $u == ms ]] && d=$(echo "$d/1000" | bc -l)
  tot=$(echo "$tot + $ops * $d" | bc -l)
done
printf 'nsqd=%s channels=%d mem-queue-size=%s: published %.0f msg/s, delivered %.0f msg/s (%.0f messages); broker read syscalls %.3f, write syscalls %.3f per delivered message; broker CPU %.2f cores\n' \
  "$(basename "$NSQD")" "$CH" "${MEMQ:-default}" "$wops" "$(echo "$tot / $wd" | bc -l)" "$tot" \
  "$(echo "(${io1[0]} - ${io0[0]}) / $tot" | bc -l)" "$(echo "(${io1[1]} - ${io0[1]}) / $tot" | bc -l)" \
  "$(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK) / ($SECS + 1)" | bc -l)"
