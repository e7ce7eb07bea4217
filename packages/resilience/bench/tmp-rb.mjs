import { CircuitBreaker } from '@phlow/circuit-breaker';
import { bulkhead, pipeline, retry } from '/work/main/packages/resilience/dist/index.js';
const noop = async () => {};
const mk = {
  bare: () => () => noop(),
  breaker: () => { const b = new CircuitBreaker('b', { timeoutMs: 0, logger: false }); return () => b.execute(noop); },
  pBreaker: () => { const b = new CircuitBreaker('b', { timeoutMs: 0, logger: false }); const p = pipeline(b); return () => p.execute(noop); },
  bulk: () => { const p = bulkhead({ maxConcurrent: 1e4 }); return () => p.execute(noop); },
  retry: () => { const p = retry(); return () => p.execute(noop); },
  pBulkRetry: () => { const p = pipeline(bulkhead({ maxConcurrent: 1e4 }), retry()); return () => p.execute(noop); },
  pBulk: () => { const p = pipeline(bulkhead({ maxConcurrent: 1e4 })); return () => p.execute(noop); },
  pRetry: () => { const p = pipeline(retry()); return () => p.execute(noop); },
  full: () => { const b = new CircuitBreaker('b', { timeoutMs: 0, logger: false }); const p = pipeline(bulkhead({ maxConcurrent: 1e4 }), retry(), b); return () => p.execute(noop); },
};
const call = mk[process.argv[2]]();
async function body(n) { for (let i = 0; i < n; i++) await call(); }
await body(200000);
const r = [];
for (let k = 0; k < 7; k++) { const s = process.hrtime.bigint(); await body(1e6); r.push(Number(process.hrtime.bigint() - s) / 1e6); }
r.sort((a, b) => a - b); console.log(process.argv[2], r[3].toFixed(1));
