/**
 * `pnpm bench` (after build): starts the demo as a user would (`node dist/main.js`, embedded stand-ins)
 * and measures on loopback: relayed messages per second with every dependency healthy, and the answer
 * latency while a peer is down (its breaker open) — over the HTTP route and over A2A JSON-RPC.
 * Figures, not assertions: they depend on the machine (everything runs in one process: the agent,
 * PGlite, three peers and five proxies).
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { textMessageRequest } from '@phlow/a2a';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);

const child = spawn(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url))], {
  env: { ...process.env, PORT: '0', PHLOW_RECOVERY_MS: '600000', PHLOW_PEER_TIMEOUT_MS: '20000' },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`the demo did not start within 60 s:\n${out}`)), 60_000);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const match = /Dashboard\s+(http:\/\/\S+?)\/\s/.exec(out);
    if (match !== null && out.includes('Ctrl-C')) {
      clearTimeout(timer);
      resolve(match[1]!);
    }
  });
  child.once('exit', (code) => reject(new Error(`the demo exited with ${code}`)));
});
const target = new URL(url);

function post(agent: Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: target.hostname, port: target.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function run(label: string, concurrency: number, call: (i: number) => Promise<boolean>): Promise<void> {
  const latencies: number[] = [];
  let ok = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (await call(n++)) ok++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(58)} ${(latencies.length / seconds).toFixed(0).padStart(6)}/s  p50 ${pct(latencies, 50).toFixed(2).padStart(7)} ms  p99 ${pct(latencies, 99).toFixed(2).padStart(7)} ms  (${ok}/${latencies.length} as expected)`,
  );
}

try {
  const http = new Agent({ keepAlive: true, maxSockets: 16 });
  const peers = ['alpha', 'beta', 'gamma'];
  const relayHttp = (peer: string, expect: number) => async () => (await post(http, '/relay', JSON.stringify({ to: peer, text: 'bench' }))) === expect;
  const a2a = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(url);
  const relayA2a = (peer: string, okWanted: boolean) => async () => {
    const answer = await a2a.sendMessage(textMessageRequest(`${peer} bench`));
    return 'role' in answer && (answer.metadata as { relay: { ok: boolean } }).relay.ok === okWanted;
  };

  console.log(`Demo agent at ${url}, ${SECONDS} s per line, Node ${process.version}\n\nAll dependencies healthy (registry lookup, send, record):`);
  await run('POST /relay, 1 at a time', 1, (i) => relayHttp(peers[i % 3]!, 200)());
  await run('POST /relay, 8 concurrent', 8, (i) => relayHttp(peers[i % 3]!, 200)());
  await run('A2A JSON-RPC SendMessage, 1 at a time', 1, () => relayA2a('alpha', true)());

  await post(http, '/chaos/peer-beta/down', '');
  for (let i = 0; i < 3; i++) await relayHttp('beta', 502)();
  await post(http, '/chaos/peer-beta/hang', '');
  console.log('\nPeer beta down (breaker open; the peer now hangs: without the breaker each call would wait 20 s):');
  await run('POST /relay, 1 at a time (503, fail fast)', 1, relayHttp('beta', 503));
  await run('POST /relay, 8 concurrent (503, fail fast)', 8, relayHttp('beta', 503));
  await run('A2A JSON-RPC SendMessage, 1 at a time (fail fast answer)', 1, relayA2a('beta', false));
  http.destroy();
} finally {
  child.kill('SIGTERM');
}
