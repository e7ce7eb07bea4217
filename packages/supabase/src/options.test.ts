import { readFile } from 'node:fs/promises';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { classifyStatus, protectFetch, SUPABASE_DEFAULTS, VERSION } from './index.js';
import { resolveSupabaseOptions } from './options.js';

const url = 'https://abc.supabase.co';
const fresh = () => new CircuitBreakerRegistry({ logger: false });

describe('options', () => {
  it("uses the guide's Supabase defaults, each overridable", () => {
    expect(SUPABASE_DEFAULTS).toEqual({ failureThreshold: 3, recoveryTimeoutMs: 30_000, timeoutMs: 10_000 });
    const breaker = protectFetch(url, { registry: fresh() }).breakerFor();
    expect(breaker.getStats().failure_threshold).toBe(3);
    expect(breaker.options).toMatchObject({ recoveryTimeoutMs: 30_000, timeoutMs: 10_000, halfOpenMaxCalls: 1 });
    const tuned = protectFetch(url, { registry: fresh(), breaker: { failureThreshold: 5, recoveryTimeoutMs: 1_000, timeoutMs: 0 } }).breakerFor();
    expect(tuned.getStats().failure_threshold).toBe(5);
    expect(tuned.options).toMatchObject({ recoveryTimeoutMs: 1_000, timeoutMs: 0 });
    const windowed = protectFetch(url, {
      registry: fresh(),
      breaker: { failurePolicy: { type: 'count-window', size: 20, minimumCalls: 10, failureRateThreshold: 0.5 } },
    }).breakerFor();
    expect(windowed.options.failurePolicy).toMatchObject({ type: 'count-window', size: 20 });
  });

  it('adapter defaults and user options merge by the core rule: a failure policy of your own replaces the default one', () => {
    expect(resolveSupabaseOptions({}).breaker).toEqual(SUPABASE_DEFAULTS);
    expect(resolveSupabaseOptions({ breaker: { timeoutMs: undefined } }).breaker).toEqual(SUPABASE_DEFAULTS);
    const policy = { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } as const;
    expect(resolveSupabaseOptions({ breaker: { failurePolicy: policy } }).breaker).toEqual({ recoveryTimeoutMs: 30_000, timeoutMs: 10_000, failurePolicy: policy });
    expect(resolveSupabaseOptions({ breaker: { failureThreshold: 7, halfOpenMaxCalls: 2 } }).breaker).toEqual({ ...SUPABASE_DEFAULTS, failureThreshold: 7, halfOpenMaxCalls: 2 });
  });

  it('one breaker per API by default, in one family named by the name option; perService: false for its one member {name}/all', () => {
    const registry = fresh();
    const perService = protectFetch(url, { registry });
    expect(['rest', 'storage', 'auth', 'functions'].map((service) => perService.breakerFor(service as never).name)).toEqual([
      'supabase/rest',
      'supabase/storage',
      'supabase/auth',
      'supabase/functions',
    ]);
    expect(perService.breakerFor()).toBe(perService.breakerFor('rest'));
    expect([...registry.getFamily('supabase').breakers()].map((breaker) => breaker.name).sort()).toEqual([
      'supabase/auth',
      'supabase/functions',
      'supabase/rest',
      'supabase/storage',
    ]);
    const single = protectFetch('https://other.supabase.co', { registry, name: 'other', perService: false });
    expect(single.breakerFor('storage')).toBe(single.breakerFor('rest'));
    expect(single.breakerFor().name).toBe('other/all');
    expect(protectFetch(url, { registry: fresh(), perService: false }).breakerFor('functions').name).toBe('supabase/all');
  });

  it.each([['bogus'], ['constructor'], [''], [5], [null]])(
    'breakerFor refuses a service that is not one (%j), naming the allowed ones, and creates no breaker: the services\' breakers stay',
    (service) => {
      const registry = fresh();
      const perService = protectFetch(url, { registry });
      const services = ['rest', 'auth', 'storage', 'functions', 'realtime', 'other'] as const;
      const breakers = services.map((name) => perService.breakerFor(name));
      const expected = /^breakerFor: service must be one of "rest", "auth", "storage", "functions", "realtime", "other"; got /;
      expect(() => perService.breakerFor(service as never)).toThrow(expected);
      expect(() => protectFetch('https://other.supabase.co', { registry, name: 'other', perService: false }).breakerFor(service as never)).toThrow(expected);
      expect(services.map((name) => perService.breakerFor(name))).toEqual(breakers);
      expect([...registry.getFamily('supabase').breakers()]).toHaveLength(services.length);
    },
  );

  it('the default classification: 5xx, 429 and 408 fail; every other status succeeds', () => {
    const failing = [500, 501, 502, 503, 504, 520, 529, 429, 408];
    const fine = [200, 201, 204, 206, 300, 304, 400, 401, 403, 404, 406, 409, 412, 416, 422];
    expect(failing.map((status) => classifyStatus(status, 'rest'))).toEqual(failing.map(() => 'failure'));
    expect(fine.map((status) => classifyStatus(status, 'rest'))).toEqual(fine.map(() => 'success'));
  });

  it('rejects bad options, naming the option, the value and what is allowed', () => {
    expect(() => protectFetch('abc.supabase.co')).toThrow(new TypeError('supabaseUrl must be an http:// or https:// URL; got "abc.supabase.co"'));
    expect(() => resolveSupabaseOptions({ rejectionStatus: 503 })).toThrow(
      new RangeError(
        '@phlow/supabase options: rejectionStatus must be from 500 to 599 except 503 and 520 (postgrest-js retries those on reads, turning a fast rejection into seconds); got 503',
      ),
    );
    expect(() => resolveSupabaseOptions({ rejectionStatus: 429 })).toThrow(
      new RangeError('@phlow/supabase options: rejectionStatus must be an integer from 500 to 599; got 429'),
    );
    expect(() => resolveSupabaseOptions({ rejectWith: 'throw' as never })).toThrow(
      new RangeError('@phlow/supabase options: rejectWith must be one of "response", "error"; got "throw"'),
    );
    expect(() => resolveSupabaseOptions({ name: '' })).toThrow(
      new TypeError('@phlow/supabase options: name must be a non-empty string without "/" (it separates family and key in breaker names); got ""'),
    );
    expect(() => resolveSupabaseOptions({ maxBodyBytes: 0 })).toThrow(
      new RangeError('@phlow/supabase options: maxBodyBytes must be an integer >= 1 (bytes) or Infinity (no limit); got 0'),
    );
    expect(() => resolveSupabaseOptions({ maxBodyBytes: 1.5 })).toThrow(/maxBodyBytes must be an integer >= 1/);
    expect(() => resolveSupabaseOptions({ maxBodyBytes: '1mb' as never })).toThrow(/maxBodyBytes must be an integer >= 1 .*; got "1mb"/);
    expect(resolveSupabaseOptions({ maxBodyBytes: Infinity }).maxBodyBytes).toBe(Infinity);
    expect(resolveSupabaseOptions({}).maxBodyBytes).toBe(10 * 1024 * 1024);
    expect(() => resolveSupabaseOptions({ perService: 'yes' as never })).toThrow(new TypeError('@phlow/supabase options: perService must be true or false; got "yes"'));
    expect(() => resolveSupabaseOptions({ classifyStatus: 5 as never })).toThrow(new TypeError('@phlow/supabase options: classifyStatus must be a function; got 5'));
    expect(() => resolveSupabaseOptions({ fetch: 'fetch' as never })).toThrow(new TypeError('@phlow/supabase options: fetch must be a function; got "fetch"'));
    expect(() => resolveSupabaseOptions({ registry: {} as never })).toThrow(/^@phlow\/supabase options: registry must be a CircuitBreakerRegistry; got/);
    expect(() => resolveSupabaseOptions({ tracerProvider: {} as never })).toThrow(/^@phlow\/supabase options: tracerProvider must be an OpenTelemetry TracerProvider/);
    // null is a mistake to report, never a silent "default".
    expect(() => resolveSupabaseOptions({ name: null as never })).toThrow(/name must be a non-empty string .*; got null/);
    expect(() => resolveSupabaseOptions({ perService: null as never })).toThrow(new TypeError('@phlow/supabase options: perService must be true or false; got null'));
    expect(() => resolveSupabaseOptions({ rejectWith: null as never })).toThrow(/rejectWith must be one of/);
    expect(() => resolveSupabaseOptions({ breaker: null as never })).toThrow(/^@phlow\/supabase options: breaker must be an object of circuit breaker options; got null/);
    // A breaker option set to null reaches the core's checks as it is, not replaced by the adapter's default.
    expect(resolveSupabaseOptions({ breaker: { timeoutMs: null as never } }).breaker.timeoutMs).toBeNull();
    expect(() => resolveSupabaseOptions({ timeout: 5 } as never)).toThrow(/^@phlow\/supabase options: unknown option "timeout"; allowed: name, registry, breaker, tracerProvider, perService/);
    expect(() => resolveSupabaseOptions({ breaker: { classifyResult: () => 'success' } } as never)).toThrow(
      /breaker.classifyResult and breaker.expectedError are set by the adapter .*; use classifyStatus/,
    );
    expect(() => resolveSupabaseOptions({ breaker: { initialState: 'open' } } as never)).toThrow(/^@phlow\/supabase options: breaker: unknown option "initialState"/);
    // Breaker options are validated by the core, with its messages.
    expect(() => protectFetch(url, { registry: fresh(), breaker: { failureThreshold: 0 } })).toThrow(new RangeError('failureThreshold must be an integer >= 1; got 0'));
    expect(() => protectFetch(url, { registry: fresh(), breaker: { timeoutMs: -1 } })).toThrow(RangeError);
  });

  it('breaker options live under breaker: a flat one (the old shape) is refused, listing the options there are', () => {
    expect(() => protectFetch(url, { registry: fresh(), failureThreshold: 5 } as never)).toThrow(
      new TypeError(
        '@phlow/supabase options: unknown option "failureThreshold"; allowed: name, registry, breaker, tracerProvider, perService, maxBodyBytes, rejectWith, rejectionStatus, classifyStatus, fetch',
      ),
    );
    expect(() => protectFetch(url, { registry: fresh(), timeoutMs: 5_000 } as never)).toThrow(/unknown option "timeoutMs"; allowed: .*breaker/);
  });

  it('name is a family name: "/" separates family and key, so it is refused in a name', () => {
    expect(() => protectFetch(url, { registry: fresh(), name: 'a/b' })).toThrow(
      new TypeError('@phlow/supabase options: name must be a non-empty string without "/" (it separates family and key in breaker names); got "a/b"'),
    );
  });

  it('VERSION matches package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
