import { describe, expect, it } from 'vitest';
import { CallDurationAggregate } from './call-duration-aggregate.js';
import { CALL_DURATION_BUCKETS } from './telemetry-names.js';

const ATTRIBUTES = Object.freeze({ name: 'payments', outcome: 'success' });

describe('CallDurationAggregate', () => {
  it('counts each boundary in its own bucket (inclusive upper bounds) and the rest above the last', () => {
    const aggregate = new CallDurationAggregate(ATTRIBUTES, 1_000);
    for (const ms of [0, 5, 5.001, 10_000, 10_001, 3_600_000]) aggregate.recordMs(ms);
    const point = aggregate.read();
    const expected = new Array(CALL_DURATION_BUCKETS.length + 1).fill(0);
    expected[0] = 2; // 0 and 5 ms: (-inf, 0.005]
    expected[1] = 1; // 5.001 ms: (0.005, 0.01]
    expected[CALL_DURATION_BUCKETS.length - 1] = 1; // 10 s: (7.5, 10]
    expected[CALL_DURATION_BUCKETS.length] = 2; // 10.001 s and an hour: (10, +inf)
    expect(point).toEqual({
      attributes: ATTRIBUTES,
      startTimeMs: 1_000,
      boundaries: CALL_DURATION_BUCKETS,
      counts: expected,
      count: 6,
      sum: expect.closeTo(3_620.011001, 9),
      min: 0,
      max: 3_600,
    });
    expect(point.attributes).toBe(ATTRIBUTES);
  });

  it('drops untimed (NaN) and negative durations, as the SDK drops them', () => {
    const aggregate = new CallDurationAggregate(ATTRIBUTES, 0);
    aggregate.recordMs(NaN);
    aggregate.recordMs(-1);
    expect(aggregate.recorded).toBe(0);
    expect(aggregate.read().counts.every((count) => count === 0)).toBe(true);
  });

  it('reads a copy: recording goes on without changing what was read', () => {
    const aggregate = new CallDurationAggregate(ATTRIBUTES, 0);
    aggregate.recordMs(1);
    const first = aggregate.read();
    aggregate.recordMs(1);
    expect(first.counts[0]).toBe(1);
    expect(first.count).toBe(1);
    expect(aggregate.read()).toMatchObject({ count: 2, sum: 0.002 });
  });
});
