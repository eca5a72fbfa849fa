#!/usr/bin/env bash
# Runs the README's quick start as written, in this checkout (after `npm install` or `npm ci`):
#   npm start                          (the control plane + one local agent; prints url: and token:)
#   npx muster submit -- echo hello    (in another shell)
#   npx muster logs JOB                (prints hello)
#   npx muster jobs                    (lists it, succeeded)
#   npx muster submit --wait -- sh -c 'exit 3'   (follows the job, exits 3 as the task did)
#   npx muster node drain NODE, submit, why, node undrain   (no new work while drained; then it runs)
# and fails unless each step does what the README says. It runs it twice: as written (port 7070, state in
# ./.muster), then as a user who sets MUSTER_PORT and MUSTER_DATA in both shells (a free port, a temporary
# folder), whose commands must find that server by the same variables. CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

had_data=0; [ -e .muster ] && had_data=1
out=$(mktemp)
alt_data=$(mktemp -d)
starter=''
stop_starter() {
  if [ -n "$starter" ]; then
    kill -TERM -- "-$starter" 2>/dev/null || true
    wait "$starter" 2>/dev/null || true
    starter=''
  fi
}
cleanup() {
  stop_starter
  [ "$had_data" = 1 ] || rm -rf .muster
  rm -rf "$out" "$alt_data"
}
trap cleanup EXIT

run=''
fail() { echo "quickstart: FAIL ($run): $*"; echo '--- npm start printed:'; cat "$out"; exit 1; }

# ended_status JOB: the job's status once it has ended (at most 20 s of asking), else the last one seen.
ended_status() {
  local status=''
  for _ in $(seq 1 100); do
    status=$(npx muster job "$1" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).status))')
    case "$status" in succeeded|failed|cancelled) break ;; esac
    sleep 0.2
  done
  echo "$status"
}

# quickstart NAME PORT: npm start, then the steps, in the current environment; PORT is where it must listen.
quickstart() {
  run=$1
  local port=$2
  : >"$out"
  setsid npm start >"$out" 2>&1 &
  starter=$!

  for _ in $(seq 1 150); do grep -q '^ready:' "$out" && break; sleep 0.2; done
  grep -q '^ready:' "$out" || fail 'npm start did not print ready: within 30 s'
  grep -q "^url: http://127.0.0.1:$port\$" "$out" || fail "npm start did not print \"url: http://127.0.0.1:$port\" on a line of its own"
  grep -Eq '^token: [A-Za-z0-9_-]{20,}$' "$out" || fail 'npm start did not print "token: TOKEN" on a line of its own'
  grep -Eq "^export MUSTER_SERVER=http://127.0.0.1:$port MUSTER_TOKEN=[A-Za-z0-9_-]{20,}\$" "$out" || fail 'npm start did not print the "export MUSTER_SERVER=... MUSTER_TOKEN=..." line'

  local submitted job status logs jobs
  submitted=$(npx muster submit -- echo hello) || fail "npx muster submit failed: $submitted"
  job=$(echo "$submitted" | awk '/^submitted / {print $2; exit}')
  [ -n "$job" ] || fail "npx muster submit printed no job id: $submitted"

  status=$(ended_status "$job")
  [ "$status" = succeeded ] || fail "job $job ended $status, not succeeded"

  logs=$(npx muster logs "$job") || fail "npx muster logs failed: $logs"
  [ "$logs" = hello ] || fail "npx muster logs $job printed '$logs', not 'hello'"
  jobs=$(npx muster jobs) || fail "npx muster jobs failed: $jobs"
  echo "$jobs" | grep -Eq "^$job +.*succeeded" || fail "npx muster jobs does not list $job as succeeded: $jobs"
  local waited code=0
  waited=$(npx muster submit --wait -- sh -c 'exit 3') || code=$?
  [ "$code" = 3 ] || fail "npx muster submit --wait -- sh -c 'exit 3' exited $code, not 3: $waited"
  echo "$waited" | grep -Eq 'exit status 3$' || fail "npx muster submit --wait did not say how the job ended: $waited"

  # A drain: the node takes no new work until undrained; then the job that waited runs.
  local node held why
  node=$(npx muster nodes -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).nodes[0].name))')
  npx muster node drain "$node" >/dev/null || fail "npx muster node drain $node failed"
  npx muster nodes | grep -Eq "^$node +.*draining" || fail "npx muster nodes does not show $node draining: $(npx muster nodes)"
  held=$(npx muster submit -- echo after-drain | awk '/^submitted / {print $2; exit}')
  [ -n "$held" ] || fail 'npx muster submit printed no job id while the node was drained'
  for _ in $(seq 1 100); do
    why=$(npx muster why "$held") || fail "npx muster why $held failed: $why"
    echo "$why" | grep -qi 'drain' && break
    sleep 0.2
  done
  echo "$why" | grep -qi 'drain' || fail "npx muster why $held does not say the node is draining: $why"
  npx muster node undrain "$node" >/dev/null || fail "npx muster node undrain $node failed"
  status=$(ended_status "$held")
  [ "$status" = succeeded ] || fail "job $held, submitted while $node was drained, ended $status after the undrain, not succeeded"
  stop_starter
  echo "quickstart ($run): ok ($job ran and printed hello)"
}

unset MUSTER_PORT MUSTER_DATA MUSTER_SERVER MUSTER_TOKEN
quickstart 'as written' 7070

# A free port: one the kernel hands out, released at once.
alt_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export MUSTER_PORT=$alt_port MUSTER_DATA=$alt_data/state
quickstart "MUSTER_PORT=$alt_port MUSTER_DATA=$alt_data/state" "$alt_port"
