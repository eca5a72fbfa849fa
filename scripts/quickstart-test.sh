#!/usr/bin/env bash
# Runs the README's quick start as written, in this checkout (after `npm install` or `npm ci`):
#   npm start                          (the control plane + one local agent; prints url: and token:)
#   npx muster submit -- echo hello    (in another shell)
#   npx muster logs JOB                (prints hello)
#   npx muster jobs                    (lists it, succeeded)
# and fails unless each step does what the README says. CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

had_data=0; [ -e .muster ] && had_data=1
out=$(mktemp)
setsid npm start >"$out" 2>&1 &
starter=$!
cleanup() {
  kill -TERM -- "-$starter" 2>/dev/null || true
  wait "$starter" 2>/dev/null || true
  [ "$had_data" = 1 ] || rm -rf .muster
  rm -f "$out"
}
trap cleanup EXIT

fail() { echo "quickstart: FAIL: $*"; echo '--- npm start printed:'; cat "$out"; exit 1; }

for _ in $(seq 1 150); do grep -q '^ready:' "$out" && break; sleep 0.2; done
grep -q '^ready:' "$out" || fail 'npm start did not print ready: within 30 s'
grep -q '^url: http://127.0.0.1:7070$' "$out" || fail 'npm start did not print "url: http://127.0.0.1:7070" on a line of its own'
grep -Eq '^token: [A-Za-z0-9_-]{20,}$' "$out" || fail 'npm start did not print "token: TOKEN" on a line of its own'

submitted=$(npx muster submit -- echo hello) || fail "npx muster submit failed: $submitted"
job=$(echo "$submitted" | awk '/^submitted / {print $2; exit}')
[ -n "$job" ] || fail "npx muster submit printed no job id: $submitted"

status=''
for _ in $(seq 1 100); do
  status=$(npx muster job "$job" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).status))')
  case "$status" in succeeded|failed|cancelled) break ;; esac
  sleep 0.2
done
[ "$status" = succeeded ] || fail "job $job ended $status, not succeeded"

logs=$(npx muster logs "$job") || fail "npx muster logs failed: $logs"
[ "$logs" = hello ] || fail "npx muster logs $job printed '$logs', not 'hello'"
jobs=$(npx muster jobs) || fail "npx muster jobs failed: $jobs"
echo "$jobs" | grep -Eq "^$job +.*succeeded" || fail "npx muster jobs does not list $job as succeeded: $jobs"
echo "quickstart: ok ($job ran and printed hello)"
