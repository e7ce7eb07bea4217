#!/usr/bin/env bash
# Runs @phlow/circuit-breaker on Bun and on Deno, with the runtimes fetched from the npm registry by npx
# (cached after the first run):
#   1. the package's own vitest suite (src/*.test.ts), vitest and its workers running on that runtime
#      (test-runtimes/runtime.test.ts fails the run if a worker is not on it);
#   2. test-runtimes/smoke.mjs, the built package through its public entry with no test framework
#      (also run on the Node on PATH, as the baseline).
# Prints each runtime's version and time taken; exits non-zero if anything fails.
# Needs `pnpm install` and the package built (dist), e.g. from a fresh clone:
#   npx -y pnpm@12.4.2 install && npx -y pnpm@12.4.2 turbo run build --filter=@phlow/circuit-breaker
set -uo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=${BUN_VERSION:-1.4.5}
DENO_VERSION=${DENO_VERSION:-2.9.6}
VITEST=node_modules/vitest/vitest.mjs
# A bound on a hung run, not a timing expectation (a run takes about a minute on a loaded 2-core machine).
RUN_BOUND=${RUN_BOUND:-150}

# Tests left out on Bun and Deno, by exact name, and why. Keep this list short and explained
# (none today: every test of the core runs on all three runtimes).
SKIP_ON_BUN_AND_DENO=()

if [[ ! -f $VITEST ]]; then
  echo "test-runtimes: $VITEST missing: run 'npx -y pnpm@12.4.2 install' first" >&2
  exit 2
fi
if [[ ! -f dist/index.js ]]; then
  echo "test-runtimes: dist/index.js missing: build first (npx -y pnpm@12.4.2 turbo run build --filter=@phlow/circuit-breaker)" >&2
  exit 2
fi

# vitest's -t takes a regular expression: keep every test whose name contains none of the skipped names.
skip_pattern=''
for name in "${SKIP_ON_BUN_AND_DENO[@]}"; do
  escaped=$(printf '%s' "$name" | sed 's/[][\.*^$(){}?+|/]/\\&/g')
  skip_pattern+="${skip_pattern:+|}$escaped"
done
# Without skips, a pattern that matches every name.
keep_pattern=${skip_pattern:+"^(?!.*(${skip_pattern}))"}
keep_pattern=${keep_pattern:-.*}

failed=()
elapsed_since() { awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", now - start }'; }

# run_on <label> <expected runtime string> <smoke command...> -- <vitest command...>
run_on() {
  local label=$1 expected=$2
  shift 2
  local smoke=() vitest=()
  while [[ $1 != -- ]]; do smoke+=("$1"); shift; done
  shift
  vitest=("$@")
  local start=$EPOCHREALTIME
  printf '\n=== %s (%s)\n' "$label" "$expected"
  if ! PHLOW_EXPECT_RUNTIME="$expected" timeout "$RUN_BOUND" "${vitest[@]}" "$VITEST" run \
    --config test-runtimes/vitest.config.ts --testNamePattern "$keep_pattern"; then
    failed+=("$label: vitest suite")
  fi
  if ! timeout "$RUN_BOUND" "${smoke[@]}" test-runtimes/smoke.mjs; then
    failed+=("$label: smoke test of dist")
  fi
  printf '=== %s: %s, %s\n' "$label" "$expected" "$(elapsed_since "$start")"
}

# The runtimes' own binaries, resolved once through npx (which fetches and caches the npm packages).
bun_bin=$(npx -y "bun@$BUN_VERSION" -e 'console.log(process.execPath)') || { echo "test-runtimes: could not get bun@$BUN_VERSION from npm" >&2; exit 2; }
deno_bin=$(npx -y "deno@$DENO_VERSION" eval 'console.log(Deno.execPath())') || { echo "test-runtimes: could not get deno@$DENO_VERSION from npm" >&2; exit 2; }
bun_version="bun $("$bun_bin" --version)"
deno_version="deno $("$deno_bin" --version | head -n 1 | cut -d ' ' -f 2)"

start=$EPOCHREALTIME
printf '=== node (baseline for the smoke test): %s\n' "$(node --version)"
node test-runtimes/smoke.mjs || failed+=("node: smoke test of dist")

# --bun: vitest's CLI and the workers it forks (process.execPath) run on Bun, not on a node on PATH.
run_on bun "$bun_version" "$bun_bin" -- "$bun_bin" --bun
# The smoke test asks Deno for no permission at all: the core needs none.
run_on deno "$deno_version" "$deno_bin" run -- "$deno_bin" run -A

printf '\n=== test-runtimes: %s, %s (skipped on both: %d tests, see run.sh)\n' "$bun_version" "$deno_version" "${#SKIP_ON_BUN_AND_DENO[@]}"
if ((${#failed[@]} > 0)); then
  printf 'FAILED: %s\n' "${failed[@]}"
  printf 'total %s\n' "$(elapsed_since "$start")"
  exit 1
fi
printf 'all green, total %s\n' "$(elapsed_since "$start")"
