#!/usr/bin/env bash
# Installs the packed @phlow packages into a fresh project outside the workspace, as a user would (plain
# `npm install`, newest peers), then typechecks a small agent that uses every package under NodeNext and under
# bundler resolution (skipLibCheck off: our .d.ts are checked), runs it as ESM against real stand-ins, Redis and
# an OpenTelemetry SDK, and loads every entry through require(). Needs `pnpm install` (the release script builds)
# and Redis at REDIS_URL (default redis://127.0.0.1:6379). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
project=$(mktemp -d)
cleanup() { [[ -n "${KEEP_CONSUMER:-}" ]] && echo "kept $project" && return; rm -rf "$work" "$project"; }
trap cleanup EXIT

run_started=$SECONDS
step_started=$SECONDS
step() {
  if [[ -n "${step_name:-}" ]]; then echo "   ($step_name: $((SECONDS - step_started)) s)"; fi
  step_name=$1
  step_started=$SECONDS
  printf '\n=== %s\n' "$1"
}

step "node $(node --version), npm $(npm --version)"
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 19)) { console.error(`Node ${process.version}: the packages need >= 22.19 (Node 24 first on PATH)`); process.exit(1); }'

step "pack every publishable package (scripts/release.sh)"
bash "$root/scripts/release.sh" --out "$work/tarballs"

step "fresh project in $project: package.json with the tarballs and the newest peers"
# Every peer the tarballs declare (ours excluded: they are the tarballs) at its newest release, so a peer range
# that excludes the newest line shows up as ERESOLVE here before it does for a user.
node - "$work/tarballs" "$project/package.json" <<'JS'
const { execFileSync, execFile } = require('node:child_process');
const { readdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { promisify } = require('node:util');
const [dir, out] = process.argv.slice(2);
const dependencies = { typescript: '6.0.3', '@types/node': '22' };
const peers = new Set();
for (const tarball of readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort()) {
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', join(dir, tarball), 'package/package.json'], { encoding: 'utf8' }));
  dependencies[manifest.name] = `file:${join(dir, tarball)}`;
  for (const peer of Object.keys(manifest.peerDependencies ?? {})) if (!peer.startsWith('@phlow/')) peers.add(peer);
}
// The newest version as a range the install must honour: with "*" npm would quietly pick an older release
// that fits our peer ranges, and with "latest" `npm ls` cannot check the tree.
(async () => {
  await Promise.all([...peers].map(async (peer) => {
    const { stdout } = await promisify(execFile)('npm', ['view', `${peer}@latest`, 'version']);
    dependencies[peer] = `^${stdout.trim()}`;
  }));
  writeFileSync(out, JSON.stringify({ name: 'phlow-consumer', private: true, type: 'module', dependencies }, null, 2) + '\n');
  console.log(Object.entries(dependencies).map(([name, spec]) => `  ${name} ${spec.startsWith('file:') ? '(tarball)' : spec}`).join('\n'));
})();
JS
cp "$here/agent.ts" "$here/require.cjs" "$here/tsconfig.nodenext.json" "$here/tsconfig.bundler.json" "$project/"
cd "$project"

step "npm install (no flags)"
if ! npm install >"$work/npm-install.log" 2>&1; then
  cat "$work/npm-install.log" >&2
  grep -q ERESOLVE "$work/npm-install.log" && echo "npm install failed with ERESOLVE: a peer range excludes the newest release" >&2
  exit 1
fi
cat "$work/npm-install.log"
if grep -q ERESOLVE "$work/npm-install.log"; then echo "npm reported ERESOLVE (see above)" >&2; exit 1; fi
npm ls --all >/dev/null # a missing or invalid peer anywhere in the tree fails here
for name in @phlow/circuit-breaker @opentelemetry/api; do
  copies=$(npm ls --all --parseable "$name" | sort -u | wc -l)
  echo "  $name: $copies copy"
  [[ $copies == 1 ]] || { npm ls --all "$name"; echo "more than one copy of $name" >&2; exit 1; }
done
node -e 'const d = require("./package-lock.json").packages; for (const n of ["@opentelemetry/api","@opentelemetry/sdk-metrics","@opentelemetry/sdk-trace","@opentelemetry/exporter-prometheus","@supabase/supabase-js","did-resolver","@a2a-js/sdk","typescript","@types/node"]) console.log(`  ${n}@${d["node_modules/" + n].version}`)'

# skipLibCheck is off so our .d.ts are checked as a user's compiler sees them. Errors in the agent or in
# node_modules/@phlow fail the run; errors inside other packages' declarations are theirs (named, not fatal).
typecheck() {
  local log="$work/tsc-$1.log"
  if npx tsc -p "$1" >"$log" 2>&1; then echo "  no errors"; return; fi
  local errors ours
  errors=$(grep -E '^[^ ].*\([0-9]+,[0-9]+\): error TS' "$log" || true)
  ours=$(grep -vE '^node_modules/' <<<"$errors" || true)$(grep -E '^node_modules/@phlow/' <<<"$errors" || true)
  if [[ -z $errors || -n $ours ]]; then
    cat "$log" >&2
    echo "tsc -p $1: errors in the agent or in our declarations" >&2
    exit 1
  fi
  echo "  the agent and node_modules/@phlow: no errors"
  echo "  errors inside third-party declarations (not ours, not fatal):"
  sed -E 's#^node_modules/((@[^/]+/)?[^/(]+)/.*error (TS[0-9]+).*#    \1 \3#' <<<"$errors" | sort | uniq -c
}

step "typecheck the agent: module NodeNext (emits dist/agent.js), skipLibCheck off"
typecheck tsconfig.nodenext.json

step "typecheck the agent: module preserve / moduleResolution bundler, skipLibCheck off"
typecheck tsconfig.bundler.json

step "run the agent as ESM (node dist/agent.js)"
node dist/agent.js

step "load every entry through require() (require.cjs)"
node require.cjs

step "done"
echo "consumer test passed in $((SECONDS - run_started)) s"
