// Peer-dependency matrix: "peer ranges admit exactly what CI proves".
// For every peer range a publishable package declares, the lowest and the highest version the registry has in
// that range are tested (as opentelemetry-js-contrib does with test-all-versions). The workspace pins are what
// the normal suite runs with, so only the ends that differ from the pins get a run here.
//
// Usage: node matrix.mjs <repo> <work-dir>     (run.sh sets up Node 24, the work dir and its cleanup)
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const [repo, work] = process.argv.slice(2);
const PNPM = ['npx', '-y', 'pnpm@12.4.2'];
const env = { ...process.env, CI: '1', TURBO_TELEMETRY_DISABLED: '1' };
// Plain x.y.z versions compare part by part as numbers; npm leaves prereleases out of a plain range.
const byVersion = new Intl.Collator('en', { numeric: true }).compare;

function step(name, fn) {
  console.log(`\n=== ${name}`);
  const started = performance.now();
  const done = () => console.log(`--- ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  try {
    const result = fn();
    if (result instanceof Promise) return result.finally(done);
    done();
    return result;
  } catch (error) {
    done();
    throw error;
  }
}

function run(cmd, args, cwd) {
  console.log(`$ (${relative(work, cwd) || '.'}) ${[cmd, ...args].join(' ')}`);
  const { status } = spawnSync(cmd, args, { cwd, env, stdio: 'inherit' });
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${status}`);
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function publishablePackages() {
  const root = join(repo, 'packages');
  return readdirSync(root)
    .map((dir) => ({ dir: join('packages', dir), json: readJson(join(root, dir, 'package.json')) }))
    .filter((p) => !p.json.private);
}

// Every version the registry has in a range, ascending. `npm view` prints a bare string for one match.
async function versionsIn(name, range) {
  const { stdout } = await promisify(execFile)('npm', ['view', `${name}@${range}`, 'version', '--json'], { env }).catch((error) => {
    throw new Error(`cannot resolve ${name}@${range} on the registry: ${error.stderr?.split('\n')[0] || error.message}`);
  });
  const found = stdout.trim() ? JSON.parse(stdout) : [];
  const versions = (Array.isArray(found) ? found : [found]).sort(byVersion);
  if (versions.length === 0) throw new Error(`the registry has no version of ${name} in ${range}`);
  return versions;
}

// One row per (package, peer): the declared range, its ends on the registry and the version the workspace pins.
async function peerRows(packages) {
  const rows = packages.flatMap(({ dir, json }) =>
    Object.entries(json.peerDependencies ?? {})
      .filter(([peer]) => !peer.startsWith('@phlow/')) // lockstep workspace packages, released together
      .map(([peer, range]) => ({ pkg: json.name, dir, peer, range, pin: json.devDependencies?.[peer] })),
  );
  const lookups = new Map();
  for (const row of rows) {
    const key = `${row.peer}@${row.range}`;
    if (!lookups.has(key)) lookups.set(key, versionsIn(row.peer, row.range));
  }
  for (const row of rows) {
    row.versions = await lookups.get(`${row.peer}@${row.range}`);
    row.low = row.versions[0];
    row.high = row.versions.at(-1);
  }
  return rows;
}

function printTable(rows) {
  const header = { pkg: 'package', peer: 'peer', range: 'range', low: 'low', high: 'high', pin: 'workspace pin' };
  const cols = Object.keys(header);
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[header, ...rows].map((r) => String(r[c] ?? '-').length))]));
  for (const r of [header, ...rows]) console.log(cols.map((c) => String(r[c] ?? '-').padEnd(width[c])).join('  '));
}

// Peers of one scope declared with the same range are one release train (the OTel SDK:
// sdk-metrics, sdk-trace, core, resources, context-async-hooks): they move together, each to its own end of
// the range, because users install them together and the SDK packages pin each other exactly.
function families(rows) {
  const byKey = new Map();
  for (const row of rows) {
    const key = `${row.peer.split('/')[0]} ${row.range}`;
    const family = byKey.get(key) ?? { key, peers: new Map() };
    family.peers.set(row.peer, row);
    byKey.set(key, family);
  }
  return [...byKey.values()];
}

// The runs to make: each family at its low and at its high end, unless that is exactly what the workspace pins.
function plannedRuns(rows) {
  const runs = [];
  for (const family of families(rows)) {
    for (const end of ['low', 'high']) {
      const versions = new Map([...family.peers].map(([peer, row]) => [peer, row[end]]));
      const label = `${[...versions.keys()].join(', ')} at the ${end} end (${[...new Set(versions.values())].join(', ')})`;
      // A package declaring the same peer with another range takes part only if its range admits the version.
      const affected = rows.filter((r) => r.versions.includes(versions.get(r.peer)));
      const differs = affected.filter((r) => r.pin !== versions.get(r.peer));
      if (differs.length === 0) {
        console.log(`covered by the main suite: ${label}`);
      } else if (!runs.some((r) => sameVersions(r.versions, versions))) {
        runs.push({ label, versions, declaring: [...new Set(affected.map((r) => r.dir))] });
      }
    }
  }
  return runs;
}

function sameVersions(a, b) {
  return a.size === b.size && [...a].every(([peer, version]) => b.get(peer) === version);
}

// Packages that only devDepend on a peer (the testkit's Supabase stand-in is driven by the real supabase-js in its
// test) prove their use of it in the test files that import it: those files run too, not their whole suite.
function extraTestFiles(root, versions, declaring) {
  const files = [];
  for (const { dir, json } of publishablePackages()) {
    if (declaring.includes(dir)) continue;
    const peers = [...versions.keys()].filter((peer) => json.devDependencies?.[peer]);
    if (peers.length === 0) continue;
    const src = join(root, dir, 'src');
    for (const file of readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.test.ts'))) {
      const text = readFileSync(join(src, file), 'utf8');
      if (peers.some((peer) => text.includes(`from '${peer}'`) || text.includes(`from '${peer}/`))) files.push({ dir, file: join('src', file) });
    }
  }
  return files;
}

// pnpm 12 reads overrides from pnpm-workspace.yaml. The file has no YAML library in reach, so the top-level
// `overrides:` block is edited by line; the installed versions are checked afterwards, which catches a bad edit.
function setOverrides(root, versions) {
  const file = join(root, 'pnpm-workspace.yaml');
  const lines = readFileSync(file, 'utf8').split('\n');
  const quoted = (peer) => `'${peer}'`;
  let start = lines.findIndex((l) => /^overrides:\s*$/.test(l));
  if (start === -1) start = lines.push('overrides:') - 1;
  const isOurs = (l) => [...versions.keys()].some((p) => l.trimStart().startsWith(`${quoted(p)}:`) || l.trimStart().startsWith(`${p}:`));
  let end = start + 1;
  while (end < lines.length && /^\s+\S/.test(lines[end])) end++;
  const kept = lines.slice(start + 1, end).filter((l) => !isOurs(l));
  const ours = [...versions].map(([peer, version]) => `  ${quoted(peer)}: ${version}`);
  lines.splice(start + 1, end - start - 1, ...ours, ...kept);
  writeFileSync(file, lines.join('\n'));
}

// The intended version is the one each test package resolves, and the only copy in the store (an exporter that
// pins the SDK exactly would otherwise keep its own older copy beside the overridden one).
function verifyInstalled(root, versions, testDirs) {
  const store = readdirSync(join(root, 'node_modules', '.pnpm'));
  const problems = [];
  for (const [peer, version] of versions) {
    // Store entries read `<name with + for />@<version>[_<peers it was resolved with>]`.
    const prefix = `${peer.replace('/', '+')}@`;
    const copies = new Set(store.filter((d) => d.startsWith(prefix)).map((d) => d.slice(prefix.length).split('_')[0]));
    if (copies.size !== 1 || !copies.has(version)) problems.push(`${peer}: store holds ${[...copies].join(', ') || 'nothing'}, wanted only ${version}`);
    for (const dir of testDirs) {
      const manifest = join(root, dir, 'node_modules', peer, 'package.json');
      if (!existsSync(manifest)) continue; // this package neither declares nor devDepends on that peer
      const found = readJson(manifest).version;
      console.log(`${dir}: ${peer} ${found}`);
      if (found !== version) problems.push(`${dir} resolves ${peer} ${found}, wanted ${version}`);
    }
  }
  if (problems.length > 0) throw new Error(`installed versions are not the intended ones:\n  ${problems.join('\n  ')}`);
}

function runOne(index, planned) {
  const root = join(work, `run-${index}`);
  step(`copy HEAD to ${root}`, () => {
    spawnSync('mkdir', ['-p', root]);
    const archive = spawnSync('git', ['-C', repo, 'archive', '--format=tar', 'HEAD'], { maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', root], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  });
  const extras = extraTestFiles(root, planned.versions, planned.declaring);
  const testDirs = [...new Set([...planned.declaring, ...extras.map((e) => e.dir)])];
  step('install with overrides', () => {
    setOverrides(root, planned.versions);
    run(PNPM[0], [...PNPM.slice(1), 'install', '--no-frozen-lockfile', '--reporter=append-only'], root);
    verifyInstalled(root, planned.versions, testDirs);
  });
  step('build', () => {
    const filters = testDirs.map((dir) => `--filter=./${dir}...`);
    run(PNPM[0], [...PNPM.slice(1), 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'], root);
  });
  const vitest = join(root, 'node_modules', '.bin', 'vitest');
  for (const dir of testDirs) {
    const files = planned.declaring.includes(dir) ? [] : extras.filter((e) => e.dir === dir).map((e) => e.file);
    step(`test ${dir}${files.length ? ` (${files.join(', ')})` : ''}`, () => run(vitest, ['run', ...files], join(root, dir)));
  }
}

const rows = await step('ask the registry for the ends of every peer range', async () => {
  const rows = await peerRows(publishablePackages());
  printTable(rows);
  return rows;
}).catch((error) => {
  console.error(`FAILED: ${error.message}`);
  process.exit(1);
});
// The normal suite covers the pins only if they are inside the ranges users are told are fine.
const outside = rows.filter((r) => !r.versions.includes(r.pin));
if (outside.length > 0) {
  for (const r of outside) console.error(`${r.pkg}: the workspace pins ${r.peer} ${r.pin ?? '(no devDependency)'}, not in its peer range ${r.range}`);
  process.exit(1);
}
const runs = plannedRuns(rows);
const failed = [];
for (const [index, planned] of runs.entries()) {
  console.log(`\n##### run ${index + 1}/${runs.length}: ${planned.label}`);
  try {
    runOne(index + 1, planned);
  } catch (error) {
    console.error(`FAILED: ${planned.label}: ${error.message}`);
    failed.push(planned.label);
  }
}
console.log(`\n${runs.length - failed.length}/${runs.length} runs passed${failed.map((f) => `\n  failed: ${f}`).join('')}`);
process.exit(failed.length > 0 ? 1 : 0);
