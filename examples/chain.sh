#!/usr/bin/env bash
# Runs on `npm start` as written (in the checkout: bash examples/chain.sh): a dependency chain of three jobs,
# each starting only once the one before it succeeded. A dependency names a job by the id the server gives it
# at submission, so a spec file cannot name another job of the same file: submit each step, read its id,
# and name it in the next (--after afterok:ID, or `dependencies: [afterok:ID]` in a spec file).
# Prints the three job ids. MUSTER names the muster command (default: npx muster).
set -euo pipefail
muster=${MUSTER:-npx muster}
job_id() { awk '/^submitted / { print $2; exit }'; }

fetch=$($muster submit --name chain-fetch --cpu 100m --memory 64Mi -- echo "step 1: fetch" | job_id)
build=$($muster submit --name chain-build --cpu 100m --memory 64Mi --after "afterok:$fetch" -- echo "step 2: build after $fetch" | job_id)
report=$($muster submit --name chain-report --cpu 100m --memory 64Mi --after "afterok:$build" -- echo "step 3: report after $build" | job_id)
echo "$fetch $build $report"
