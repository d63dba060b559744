#!/usr/bin/env bash
# Where the time of `moerge library init` goes: runs it under `strace -f -tt` tracing only the few
# system calls that mark phase boundaries (process start, opening the source and the object file,
# the hashing and fsync threads' exits, the index and the final rename), and prints the phases of
# the best of N runs. strace inflates the start-up (more so when Open MPI forks its singleton
# daemon, which strace follows), so the start-up is also timed untraced, as `moerge --version`.
#
# usage: bench/import/phases.sh [--repeat N] [--model DIR] [--work DIR] [--bin MOERGE]...
# Several --bin are timed in turn (e.g. a build before and after a change), each on the same model.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
repeat=3 work=${TMPDIR:-/tmp}/moerge-bench-import model="" bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ ${#bins[@]} -gt 0 ] || bins=("$ROOT/build/release/bin/moerge")
command -v strace > /dev/null || { echo "phases.sh needs strace (apt-get install strace)" >&2; exit 1; }
mkdir -p "$work"
[ -n "$model" ] || model=$work/model-1.0gib
[ -f "$model/model.safetensors" ] || /usr/bin/python3 "$ROOT/bench/import/make_model.py" "$model" --gib 1.0
cat "$model/model.safetensors" > /dev/null  # warm the page cache
for bin in "${bins[@]}"; do
  for run in $(seq 1 "$repeat"); do
    rm -rf "$work/lib" && sync
    echo "load $(cut -d' ' -f1 /proc/loadavg)" > "$work/trace-$run.txt"
    strace -f -tt -e trace=execve,openat,fsync,rename,exit,exit_group -o "$work/trace-$run.strace" \
      "$bin" library init "$work/lib" --base "$model" --quiet
    cat "$work/trace-$run.strace" >> "$work/trace-$run.txt"
  done
  rm -rf "$work/lib"
  echo "== $bin"
  for run in $(seq 1 "$repeat"); do
    /usr/bin/time -f "%e" -o "$work/version-$run.txt" "$bin" --version > /dev/null
  done
  echo "MPI start-up + finalize, untraced (moerge --version, best of $repeat): $(sort -n "$work"/version-*.txt | head -1) s"
  /usr/bin/python3 - "$work" "$repeat" <<'EOF'
import re, sys
work, repeat = sys.argv[1], int(sys.argv[2])

def seconds(stamp):
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)

def phases(path):
    lines = open(path).read().splitlines()
    load = lines[0].split()[1]
    events = []  # (time, pid, text)
    for line in lines[1:]:
        match = re.match(r"(\d+)\s+(\d\d:\d\d:\d\d\.\d+) (.*)", line)
        if match:
            events.append((seconds(match.group(2)), int(match.group(1)), match.group(3)))
    start = events[0][0]
    main_pid = events[0][1]
    end = events[-1][0]
    def first(pred, after=0.0):
        return next(t for t, pid, text in events if t >= after and pred(pid, text))
    opened_config = first(lambda pid, text: "config.json" in text and pid == main_pid)
    # The source-hashing thread: the first non-main thread that opens model.safetensors.
    hasher = next(pid for t, pid, text in events if pid != main_pid and "model.safetensors" in text)
    hashed_source = first(lambda pid, text: pid == hasher and text.startswith(("exit(", "+++ exited")))
    # The object file is reopened read-only after HDF5 closed it (for its SHA-256 and its fsync).
    closed = first(lambda pid, text: "base.h5" in text and "O_RDONLY" in text and "O_CREAT" not in text)
    index = first(lambda pid, text: ".library.h5.tmp" in text)
    published = first(lambda pid, text: text.startswith("rename(") and '/lib"' in text)
    return load, [("start-up (MPI, open, validate)", opened_config - start),
                  ("write + source SHA-256 (overlapped)", closed - opened_config),
                  ("  of which source SHA-256 thread", hashed_source - opened_config),
                  ("object SHA-256 + fsync (overlapped)", index - closed),
                  ("index, fsyncs, rename", published - index),
                  ("exit (MPI finalize)", end - published),
                  ("total", end - start)]

runs = [phases(f"{work}/trace-{run}.txt") for run in range(1, repeat + 1)]
best = min(runs, key=lambda item: item[1][-1][1])
print(f"best of {repeat} runs (load average {best[0]} at its start):")
for name, value in best[1]:
    print(f"  {name:<38} {value:6.2f} s")
EOF
done
