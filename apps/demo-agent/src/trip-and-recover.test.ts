import type { CircuitLogEntry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { runTripAndRecover } from './trip-and-recover.js';

describe('the trip-and-recover demo', () => {
  it('opens on the real refused connections, fails fast, and closes by itself once the dependency heals', async () => {
    const lines: string[] = [];
    const logs: CircuitLogEntry[] = [];
    const health = await runTripAndRecover({ print: (line) => lines.push(line), speed: 5, logger: (e) => logs.push(e) });
    expect(logs[0]).toMatchObject({ level: 'warning', message: 'Circuit breaker supabase opened', failure_count: 3, threshold: 3 });
    expect(logs.at(-1)).toMatchObject({ level: 'info', message: 'Circuit breaker supabase closed' });
    const transcript = lines.join('\n');
    expect(transcript).toContain('state closed → open (failure_threshold)');
    expect(transcript).toContain('ECONNREFUSED');
    expect(transcript).toMatch(/rejected .* open {6}fail fast, retry in \d+ ms/);
    expect(transcript).toContain('state half_open → closed (probe_succeeded)');
    expect(health.status).toBe('healthy');
    const stats = health.breaker_stats['supabase']!;
    expect(stats.state).toBe('closed');
    expect(stats.total_rejections).toBeGreaterThan(0);
    expect(stats.total_failures).toBeGreaterThanOrEqual(3);
    expect(stats.total_calls).toBe(stats.total_successes + stats.total_failures + stats.total_rejections + stats.total_ignored);
  });
});
