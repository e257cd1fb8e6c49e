# Shared by bench/run-e2e and bench/run-soak (sourced, not run): start and stop simulated sandboxes and a
# metric server, read a process's CPU time and RSS, percentiles. The sourcing script sets `prog` (its name
# in messages) and `work` (its temporary directory) first, and calls bench_cleanup on exit.

repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
launcher="$repo/sandbox-metrics"
sim_pid=""
srv_pid=""
clk_tck="$(getconf CLK_TCK)"

# Sends SIGTERM to a process we started and waits for it (simulate removes its files and holders on
# SIGTERM); SIGKILL only if it has not gone after 30 s.
bench_stop() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  bench_stop "$srv_pid"
  bench_stop "$sim_pid"
  srv_pid=""
  sim_pid=""
  rm -rf "$work"
}

die() {
  echo "$prog: $*" >&2
  for f in "$work"/*.log; do
    [[ -f "$f" ]] || continue
    echo "--- last lines of $(basename "$f"):" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# CPU time (user + system) of a process in milliseconds, from /proc/PID/stat (fields 14 and 15, counted
# after the command name, which may contain spaces).
cpu_ms() {
  local stat rest
  stat="$(cat "/proc/$1/stat")" || die "process $1 is gone"
  rest="${stat##*) }"
  # rest starts at field 3 (state): utime is field 14, i.e. the 12th word here; stime the 13th.
  awk -v tck="$clk_tck" '{ printf "%.3f\n", ($12 + $13) * 1000 / tck }' <<<"$rest"
}

# Resident set size of a process in MB (VmRSS), and its peak (VmHWM).
# CPU milliseconds of each of process $1's live threads so far, one "TID NAME MS" line per thread (NAME is
# the kernel's 15-character thread name, spaces as underscores; the time from schedstat, in nanoseconds).
thread_cpu_ms() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm" 2>/dev/null)" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done | awk 'NF == 3 { printf "%s %s %.3f\n", $1, $2, $3 / 1e6 }'
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }
peak_rss_mb() { awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# Where a process's RSS is, from /proc/PID/smaps: one markdown row per kind of mapping (libjvm.so, the
# class-data archive, other shared libraries, jar and JDK module files, glibc's main malloc arena
# ([heap]), anonymous memory: the Java heap, metaspace, code cache, thread stacks and the other malloc
# arenas). When the JVM runs with -XX:NativeMemoryTracking=summary, also the committed memory of its NMT
# categories (jcmd), which splits the anonymous part.
rss_breakdown() {
  local pid="$1"
  local rows
  echo "| mapping | RSS MB |"
  echo "|---|---:|"
  rows="$(awk '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : ""
      if (name ~ /libjvm\.so$/) kind = "libjvm.so (code and data)"
      else if (name ~ /\.(jsa|aot)$/) { base = name; sub(/.*\//, "", base); kind = "class-data archive (" base ")" }
      else if (name ~ /\.so/) kind = "other shared libraries"
      else if (name ~ /(\.jar|\/modules)$/) kind = "jar and JDK module files"
      else if (name == "[heap]") kind = "[heap] (malloc main arena)"
      else if (name == "") kind = "anonymous (Java heap, metaspace, code cache, stacks, malloc arenas)"
      else if (name ~ /^\[/) kind = "other (" name ")"
      else kind = "other files"
      next }
    /^Rss:/ { kb[kind] += $2; total += $2 }
    END { for (k in kb) if (kb[k] >= 100) printf "| %s | %.1f |\n", k, kb[k] / 1024
          printf "| **total** | **%.1f** |\n", total / 1024 }' "/proc/$pid/smaps")" || return 0
  grep -v total <<<"$rows" | sort -t'|' -k3 -gr
  grep total <<<"$rows"
  local jcmd="${JAVA_HOME:+$JAVA_HOME/bin/}jcmd"
  if command -v "$jcmd" >/dev/null 2>&1 && "$jcmd" "$pid" VM.native_memory summary >"$work/nmt.txt" 2>&1 &&
    grep -q 'committed=' "$work/nmt.txt"; then
    echo
    echo "Native memory tracking (committed; reserved address space is not memory):"
    echo
    echo "| NMT category | committed MB |"
    echo "|---|---:|"
    # mawk-compatible (no match() arrays): "-  Java Heap (reserved=...KB, committed=...KB)".
    awk '/^-.*\(reserved=[0-9]+KB, committed=[0-9]+KB\)/ {
        name = $0; sub(/^- */, "", name); sub(/ *\(reserved.*/, "", name)
        c = $0; sub(/.*committed=/, "", c); sub(/KB.*/, "", c)
        if (c + 0 >= 100) printf "| %s | %.1f |\n", name, c / 1024 }
      /^Total:/ { c = $0; sub(/.*committed=/, "", c); sub(/KB.*/, "", c); printf "| **total** | **%.1f** |\n", c / 1024 }' \
      "$work/nmt.txt"
  fi
}

# p-th percentile (nearest rank) of the numbers on stdin.
percentile() {
  sort -g | awk -v p="$1" '{ v[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

# Starts `simulate` with N bench sandboxes in root $1 and waits until N state files exist.
start_sandboxes() {
  local root="$1" n="$2" i
  # SIMULATE_ARGS (an array, may be unset): more simulate options, e.g. pods with containers and cgroups.
  "$launcher" --root="$root" --metric-server="$root/m.sock" simulate --sandboxes "$n" --profile bench \
    --id-prefix b- ${SIMULATE_ARGS[@]+"${SIMULATE_ARGS[@]}"} >"$work/simulate-$n.log" 2>&1 &
  sim_pid=$!
  # Generous: 1000 sandboxes on a busy 2-core machine take a while to start.
  for ((i = 0; i < 6000; i++)); do
    kill -0 "$sim_pid" 2>/dev/null || die "simulate exited early"
    local states=("$root"/*.state)
    if [[ -e "${states[0]}" ]] && ((${#states[@]} >= n)); then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $n state files"
}

# Starts the metric server on the Unix socket $1/m.sock for root $1 (extra arguments go to metric-server)
# and waits until one scrape shows all N sandboxes running; sets srv_pid.
start_server() {
  local root="$1" n="$2" i ok=0 running=""
  shift 2
  "$launcher" --root="$root" --metric-server="$root/m.sock" metric-server --pid-file="$work/server.pid" "$@" \
    >"$work/server-$n.log" 2>&1 &
  srv_pid=$!
  for ((i = 0; i < 6000; i++)); do
    kill -0 "$srv_pid" 2>/dev/null || die "the metric server exited early"
    if [[ -s "$work/server.pid" && -S "$root/m.sock" ]]; then
      # All sockets answer when every sandbox shows as running (value 1) in one scrape.
      running="$(curl -s --unix-socket "$root/m.sock" http://x/metrics |
        grep -c '^runsc_meta_sandbox_running{.*} 1\( \|$\)' || true)"
      if ((running == n)); then ok=1; break; fi
    fi
    sleep 0.2
  done
  ((ok)) || die "timed out waiting for $n running sandboxes in /metrics (last count: ${running:-none})"
  # The launcher execs java, so the PID in the file is the one we started.
  local pid
  pid="$(cat "$work/server.pid")"
  [[ "$pid" == "$srv_pid" ]] || echo "$prog: note: pid file says $pid, started $srv_pid" >&2
}

# The header every benchmark prints: when, where, with what.
describe_run() {
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(free -g | awk '/^Mem:/ { print $2 }') GB"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- java: $("${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}" -version 2>&1 | head -n 1)"
  echo "- JVM options: ${SANDBOX_METRICS_JAVA_OPTS-launcher defaults}"
  echo "- commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
