#!/usr/bin/env bash
# Builds and packs every publishable package (packages/* that are not private) into one directory and checks
# each tarball (scripts/check-tarball.mjs). With --dry-run it also runs `npm publish --dry-run` on each tarball,
# proving the publish would work without publishing. Publishing itself is a maintainer's step:
# `pnpm changeset publish` (see .changeset/README.md).
# Usage: bash scripts/release.sh [--dry-run] [--out DIR]   (default DIR: release/ at the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

dry_run=false
out="$root/release"
while (($#)); do
  case "$1" in
    --dry-run) dry_run=true ;;
    --out) out=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
    --) ;;
    *) echo "release.sh: unknown argument '$1' (allowed: --dry-run, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done

if command -v pnpm >/dev/null; then PNPM=(pnpm); else PNPM=(npx -y pnpm@12.4.2); fi
export TURBO_TELEMETRY_DISABLED=1

mapfile -t packages < <(node -e '
  const { readdirSync, readFileSync, existsSync } = require("node:fs");
  for (const dir of readdirSync("packages").sort()) {
    const file = `packages/${dir}/package.json`;
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    if (manifest.private !== true) console.log(`${dir} ${manifest.name}`);
  }')
filters=()
for entry in "${packages[@]}"; do filters+=("--filter=${entry#* }"); done

echo "== build: ${#packages[@]} publishable packages"
"${PNPM[@]}" exec turbo run build "${filters[@]}" --output-logs=errors-only

echo "== pack into $out"
rm -f "$out"/*.tgz
mkdir -p "$out"
for entry in "${packages[@]}"; do
  (cd "packages/${entry%% *}" && "${PNPM[@]}" pack --pack-destination "$out" >/dev/null)
done
tarballs=("$out"/*.tgz)

echo "== check tarballs"
node scripts/check-tarball.mjs "${tarballs[@]}"

if $dry_run; then
  echo "== npm publish --dry-run"
  for tarball in "${tarballs[@]}"; do
    if ! log=$(npm publish --dry-run --access public "$tarball" 2>&1); then
      printf '%s\n' "$log" >&2
      echo "npm publish --dry-run failed for $tarball" >&2
      exit 1
    fi
    grep -E '^npm (warn|notice (name|version|package size|total files))|Publishing to' <<<"$log" || true
  done
fi

echo "== tarballs"
printf '%s\n' "${tarballs[@]}"
