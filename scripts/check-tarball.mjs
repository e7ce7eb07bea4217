// Checks a packed tarball the way a user's install would see it: exact versions for our own packages
// (no workspace: protocol left over), every export target present, no tests, and every source map and
// declaration map resolving its sources inside the tarball (maps with their sources or none).
// Usage: node scripts/check-tarball.mjs <tarball>...
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

function listFiles(root, dir = root) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

function exportTargets(exportsField) {
  if (typeof exportsField === 'string') return [exportsField];
  if (exportsField === null || typeof exportsField !== 'object') return [];
  return Object.values(exportsField).flatMap(exportTargets);
}

function problemsOf(root) {
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${name} is "${range}" (workspace protocol left in)`);
      else if (name.startsWith('@phlow/') && range !== manifest.version) {
        problems.push(`${field}.${name} is "${range}"; our packages move in lockstep, expected exactly "${manifest.version}"`);
      }
    }
  }
  for (const target of exportTargets(manifest.exports)) {
    if (!existsSync(join(root, target))) problems.push(`export target ${target} is not in the tarball`);
  }
  const files = listFiles(root);
  for (const file of files.filter((f) => /^(src|dist)\/.*\.test(-util)?\./.test(f))) problems.push(`test file shipped: ${file}`);
  const maps = files.filter((f) => f.endsWith('.map'));
  for (const map of maps) {
    const { sources = [], sourceRoot = '' } = JSON.parse(readFileSync(join(root, map), 'utf8'));
    for (const source of sources) {
      const resolved = join(root, dirname(map), sourceRoot, source);
      if (!existsSync(resolved)) problems.push(`${map}: source ${source} is not in the tarball`);
    }
  }
  return { manifest, problems, files: files.length, maps: maps.length };
}

let failed = false;
for (const tarball of process.argv.slice(2)) {
  const dir = mkdtempSync(join(tmpdir(), 'phlow-tarball-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    const { manifest, problems, files, maps } = problemsOf(join(dir, 'package'));
    if (problems.length === 0) {
      console.log(`ok   ${manifest.name}@${manifest.version}: ${files} files, ${maps} maps resolve inside the tarball`);
    } else {
      failed = true;
      console.error(`FAIL ${manifest.name}@${manifest.version}:\n  ${problems.join('\n  ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (failed) process.exit(1);
