// How one figure is measured, shared by the benches of @phlow/circuit-breaker and @phlow/resilience so
// their figures compare: the median of 7 rounds after a warm-up, sequential or 1 000 calls in flight.
const ROUNDS = 7;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** ns per iteration of `body(iterations)`: the median of the rounds after a warm-up. */
export async function timeRounds(iterations, body) {
  await body(Math.min(iterations, 200_000)); // warm-up: let the JIT settle
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    await body(iterations);
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return median(rounds);
}

/** ns per call, one call at a time. */
export function sequentialNs(call) {
  return timeRounds(1_000_000, async (n) => {
    for (let i = 0; i < n; i++) await call();
  });
}

/** ns per call with 1 000 calls in flight. */
export function concurrentNs(call) {
  const inFlight = 1_000;
  const batch = new Array(inFlight);
  return timeRounds(1_000_000, async (n) => {
    for (let done = 0; done < n; done += inFlight) {
      for (let i = 0; i < inFlight; i++) batch[i] = call();
      await Promise.all(batch);
    }
  });
}
