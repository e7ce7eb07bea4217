import { describe, expect, it } from 'vitest';
import { resolveStoreOptions } from './store-options.js';
import { RedisStateStore } from './redis-state-store.js';

describe('RedisStateStore options', () => {
  it('applies documented defaults', () => {
    expect(resolveStoreOptions()).toMatchObject({
      keyPrefix: 'phlow:cb',
      stateTtlMs: 86_400_000,
      failureWindowMs: 60_000,
      flushIntervalMs: 50,
      reconcileIntervalMs: 5_000,
      halfOpenMaxProbes: undefined,
      probeLeaseMs: 30_000,
      probeWaitMs: 100,
      commandTimeoutMs: 1_000,
    });
  });

  it.each([
    [{ halfOpenMaxProbes: 0 }, RangeError, 'halfOpenMaxProbes must be an integer from 1 to 1000; got 0'],
    [{ halfOpenMaxProbes: 1.5 }, RangeError, 'halfOpenMaxProbes must be an integer from 1 to 1000; got 1.5'],
    [{ flushIntervalMs: 0 }, RangeError, 'flushIntervalMs must be a number >= 1'],
    [{ probeLeaseMs: -5 }, RangeError, 'probeLeaseMs must be a number >= 1 and <= 2147483647; got -5'],
    [{ stateTtlMs: 10 }, RangeError, 'stateTtlMs must be a number >= 1000'],
    [{ reconcileIntervalMs: 90_000, stateTtlMs: 60_000 }, RangeError, 'reconcileIntervalMs must be shorter than stateTtlMs (60000)'],
    [{ commandTimeoutMs: Number.NaN }, RangeError, 'commandTimeoutMs must be'],
    [{ keyPrefix: 'a{b}' }, TypeError, 'keyPrefix must be a non-empty string without "{" or "}"; got "a{b}"'],
    [{ keyPrefix: '' }, TypeError, 'keyPrefix must be a non-empty string'],
    [{ redis: 'http://localhost' }, TypeError, 'redis must be a redis:// or rediss:// URL; got "http://localhost"'],
    [{ redis: 42 }, TypeError, 'redis must be a redis:// URL string or an ioredis options object; got 42'],
    [{ redis: 'redis://x', createClient: () => undefined }, TypeError, 'redis, cluster and createClient are exclusive (one way to connect); got redis and createClient'],
    [{ redis: 'redis://x', cluster: { nodes: [7000] } }, TypeError, 'got redis and cluster'],
    [{ cluster: { nodes: [] } }, TypeError, 'cluster.nodes must list at least one seed node ({ host, port }, "host:port" or a port); got []'],
    [{ cluster: ['127.0.0.1:7000'] }, TypeError, 'cluster must be { nodes: [...], options? } with at least one seed node; got ["127.0.0.1:7000"]'],
    [{ cluster: { nodes: [null] } }, TypeError, 'cluster.nodes entries must be { host, port }, "host:port" or a port; got null'],
    [{ cluster: { nodes: [70_000] } }, TypeError, 'cluster.nodes entries must be { host, port }, "host:port" or a port; got 70000'],
    [{ cluster: { nodes: [7000], options: 'fast' } }, TypeError, 'cluster.options must be ioredis ClusterOptions (an object); got "fast"'],
    [{ createClient: 'nope' }, TypeError, 'createClient must be a function; got "nope"'],
    [{ flushInterval: 10 }, TypeError, 'RedisStateStore: unknown option "flushInterval"; allowed: redis, cluster, createClient, keyPrefix'],
  ])('rejects %j', (options, type, message) => {
    const attempt = () => resolveStoreOptions(options as never);
    expect(attempt).toThrow(type);
    expect(attempt).toThrow(message);
  });

  it('validates before connecting anywhere', () => {
    expect(() => new RedisStateStore({ probeWaitMs: 0 })).toThrow('probeWaitMs must be a number >= 1');
  });

  it('rejects a createClient that returns something other than an ioredis client', () => {
    expect(() => new RedisStateStore({ createClient: () => ({}) as never })).toThrow(
      'createClient("commands") must return an ioredis Redis or Cluster',
    );
  });
});
