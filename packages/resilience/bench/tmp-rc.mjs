import { CircuitBreaker } from '@phlow/circuit-breaker';
import { bulkhead, pipeline, retry } from '/work/main/packages/resilience/dist/index.js';
const noop = async () => {};
const B = () => new CircuitBreaker('b', { timeoutMs: 0, logger: false });
const mk = {
  bare: () => () => noop(),
  breaker: () => { const b = B(); return () => b.execute(noop); },
  bulk: () => { const p = bulkhead({ maxConcurrent: 1e4 }); return () => p.execute(noop); },
  retry: () => { const p = retry(); return () => p.execute(noop); },
  pRetryBreaker: () => { const p = pipeline(retry(), B()); return () => p.execute(noop); },
  pBulkRetry: () => { const p = pipeline(bulkhead({ maxConcurrent: 1e4 }), retry()); return () => p.execute(noop); },
  full: () => { const p = pipeline(bulkhead({ maxConcurrent: 1e4 }), retry(), B()); return () => p.execute(noop); },
};
const call = mk[process.argv[2]]();
const batch = new Array(1000);
async function body(n) { for (let d = 0; d < n; d += 1000) { for (let i = 0; i < 1000; i++) batch[i] = call(); await Promise.all(batch); } }
await body(200000);
const r = [];
for (let k = 0; k < 7; k++) { const s = process.hrtime.bigint(); await body(1e6); r.push(Number(process.hrtime.bigint() - s) / 1e6); }
r.sort((a, b) => a - b); console.log(process.argv[2], r[3].toFixed(1));
