#!/usr/bin/env bash
# The outer loop that supervisord runs: one `shiftctl cycle` process per cycle, then a nap.
# A failing cycle never ends the loop; it naps a little and tries again.
# Run it from the target repository (or set SHIFTCTL_REPO); SHIFTCTL names the CLI to use.
set -u
SHIFTCTL="${SHIFTCTL:-shiftctl}"
if [ -n "${SHIFTCTL_REPO:-}" ]; then cd "$SHIFTCTL_REPO" || exit 1; fi
fail_sleep=5
woke=start  # what came before a cycle: start, followup or the nap's answer (its wake reason)
# .shiftctl/loop.pid tells `shiftctl status` a loop runs here: pid and start time (/proc stat)
started=$(awk '{print $22}' "/proc/$$/stat" 2>/dev/null)
trap 'rm -f .shiftctl/loop.pid' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
while true; do
  mkdir -p .shiftctl/logs  # also after someone deleted .shiftctl/
  echo "$$ $started" > .shiftctl/loop.pid
  out=$($SHIFTCTL cycle --json --woke "$woke" 2>>.shiftctl/logs/cycle-errors.log)
  code=$?
  echo "$out"
  sleep_s=$(printf '%s' "$out" | sed -n 's/.*"sleep_s": *\([0-9.]*\).*/\1/p')
  if [ "$code" -ne 0 ] || [ -z "$sleep_s" ]; then
    echo "cycle failed (exit $code); retrying in ${fail_sleep}s" >&2
    sleep_s=$fail_sleep
    fail_sleep=$(( fail_sleep < 300 ? fail_sleep * 2 : 300 ))
  else
    fail_sleep=5
  fi
  # zero (acted, more to do at once): straight on, a nap would only start a process
  woke=followup
  if [[ ! "$sleep_s" =~ ^0*\.?0*$ ]]; then
    woke=$($SHIFTCTL nap "$sleep_s" 2>/dev/null) || { sleep "$sleep_s"; woke=time; }
  fi
  case "$woke" in start|followup|time|wake|critical|unhealthy) ;; *) woke=time ;; esac
done
