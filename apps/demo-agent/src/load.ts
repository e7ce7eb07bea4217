/**
 * `pnpm demo:load`: drives relay traffic at a running demo agent so the dashboard moves, and prints a
 * progress line (sent, answered, refused, throughput, latency percentiles of the last second).
 *
 *   AGENT_URL   the agent (default http://127.0.0.1:8080)
 *   PEERS       comma list of peers to relay to (default alpha,beta,gamma)
 *   CONCURRENCY requests in flight (default 4)
 *   RATE        most requests per second, 0 = as fast as answered (default 20)
 *   DURATION    seconds, 0 = until Ctrl-C (default 0)
 *
 * It posts to the agent's HTTP route `POST /relay` (the same relay path as the A2A skill). With
 * `--report` it prints one JSON line of totals and latency percentiles at the end (for benchmarks).
 */
import { Agent, request } from 'node:http';

const agentUrl = new URL(process.env['AGENT_URL'] ?? 'http://127.0.0.1:8080');
const peers = (process.env['PEERS'] ?? 'alpha,beta,gamma').split(',').filter(Boolean);
const concurrency = Number(process.env['CONCURRENCY'] ?? 4);
const rate = Number(process.env['RATE'] ?? 20);
const durationS = Number(process.env['DURATION'] ?? 0);
const report = process.argv.includes('--report');
const httpAgent = new Agent({ keepAlive: true, maxSockets: concurrency });

let sent = 0;
let ok = 0;
let refused = 0;
let errors = 0;
let window: number[] = [];
const all: number[] = [];
const byStatus = new Map<number, number>();
const started = performance.now();
let stopping = false;

function post(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent: httpAgent, host: agentUrl.hostname, port: agentUrl.port, path: '/relay', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function worker(id: number): Promise<void> {
  const interval = rate > 0 ? (1000 * concurrency) / rate : 0;
  let next = performance.now() + (interval * id) / concurrency;
  while (!stopping) {
    if (interval > 0) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += interval;
    }
    const peer = peers[sent % peers.length]!;
    sent++;
    const t0 = performance.now();
    try {
      const status = await post(JSON.stringify({ to: peer, text: `load ${sent}` }));
      const ms = performance.now() - t0;
      window.push(ms);
      all.push(ms);
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      if (status === 200) ok++;
      else refused++;
    } catch {
      errors++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const progress = setInterval(() => {
  const elapsed = (performance.now() - started) / 1000;
  const line = `${elapsed.toFixed(0).padStart(4)} s  sent ${sent}  ok ${ok}  refused ${refused}  errors ${errors}  ` +
    `${(window.length).toString().padStart(4)}/s  p50 ${percentile(window, 50).toFixed(1)} ms  p99 ${percentile(window, 99).toFixed(1)} ms`;
  window = [];
  if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
  else console.log(line);
}, 1_000);

const stop = () => {
  stopping = true;
};
process.on('SIGINT', stop);
if (durationS > 0) setTimeout(stop, durationS * 1000);

console.log(`Relaying to ${peers.join(', ')} through ${agentUrl.origin}/relay (concurrency ${concurrency}, ${rate > 0 ? `${rate}/s` : 'unthrottled'}); Ctrl-C stops.`);
await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
clearInterval(progress);
httpAgent.destroy();
const seconds = (performance.now() - started) / 1000;
console.log(`\nDone: ${sent} sent in ${seconds.toFixed(1)} s, ${ok} ok, ${refused} refused, ${errors} errors.`);
if (report) {
  console.log(JSON.stringify({ sent, ok, refused, errors, seconds, perSecond: sent / seconds, statuses: Object.fromEntries(byStatus), p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99), max: percentile(all, 100) }));
}
