import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CircuitBreaker, CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRecording } from './read-recording.js';
import { recordTraffic, TrafficRecorder } from './traffic-recorder.js';
import { OUTCOME_CODE } from './traffic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phlow-tune-rec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

class HttpError extends Error {
  override name = 'HttpError';
}

function breaker(name: string, clock: ManualClock, registry?: CircuitBreakerRegistry) {
  const options = { clock, logger: false as const, failureThreshold: 2, recoveryTimeoutMs: 1_000, timeoutMs: 100 };
  return registry === undefined ? new CircuitBreaker(name, options) : registry.getBreaker(name, options);
}

describe('TrafficRecorder', () => {
  it('records start, duration, outcome and error class of every call, rejections and timeouts included', async () => {
    const clock = new ManualClock(1_000_000);
    const b = breaker('api', clock);
    const recorder = new TrafficRecorder();
    recorder.attach(b);
    await b.execute(() => {
      clock.stall(30);
      return 'ok';
    });
    await b.execute(() => {
      clock.stall(5);
      throw new HttpError('503');
    }).catch(() => {});
    const hung = b.execute(() => new Promise(() => {})).catch((e: Error) => e.name);
    clock.advance(200); // the call's deadline passes: a timeout
    expect(await hung).toBe('CircuitTimeoutError');
    await b.execute(() => 'refused').catch(() => {}); // open now
    const calls = recorder.recent();
    expect(calls.map((c) => c.outcome)).toEqual(['success', 'failure', 'timeout', 'rejected']);
    expect(calls[0]).toEqual({ breaker: 'api', start: 1_000_000, duration: 30, outcome: 'success' });
    expect(calls[1]).toMatchObject({ start: 1_000_030, duration: 5, errorClass: 'HttpError' });
    expect(calls[2]!.errorClass).toBe('CircuitTimeoutError');
    expect(calls[2]!.duration).toBeGreaterThanOrEqual(100);
    expect(calls[3]).toMatchObject({ duration: 0, errorClass: 'CircuitOpenError' });
  });

  it('records a whole registry, breakers created later too, to rotated JSONL files capped in number, and reads back', async () => {
    const clock = new ManualClock(2_000_000);
    const registry = new CircuitBreakerRegistry();
    breaker('early', clock, registry);
    await using recorder = recordTraffic(registry, { dir, maxFileBytes: 2_048, maxFiles: 3, memoryCalls: 10, batchLines: 7 });
    const late = breaker('late', clock, registry);
    for (let i = 0; i < 400; i++) {
      clock.advance(10);
      await registry.getBreaker('early').execute(() => 'ok');
      await late.execute(() => (i % 50 === 49 ? Promise.reject(new TypeError('x')) : 'ok')).catch(() => {});
    }
    await recorder.flush();
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(3);
    for (const f of files) expect((await readFile(join(dir, f))).length).toBeLessThanOrEqual(2_048);
    expect(recorder.recordedCalls).toBe(800);
    expect(recorder.recent()).toHaveLength(10); // the memory ring holds the last 10
    const traffic = await loadRecording(dir);
    expect([...traffic.keys()].sort()).toEqual(['early', 'late']);
    const lateCalls = traffic.get('late')!;
    // The oldest files were deleted: what is left is the end of the recording, in order.
    expect(lateCalls.start.length).toBeLessThan(400);
    expect(lateCalls.start[lateCalls.start.length - 1]).toBe(2_000_000 + 4_000);
    expect(Array.from(lateCalls.outcome).filter((o) => o === OUTCOME_CODE.failure).length).toBeGreaterThan(0);
  });

  it('can be switched off and on at run time; while off the breaker carries no subscription', async () => {
    const clock = new ManualClock(0);
    const b = breaker('toggle', clock);
    const recorder = new TrafficRecorder({ enabled: false });
    recorder.attach(b);
    await b.execute(() => 1);
    expect(recorder.recordedCalls).toBe(0);
    recorder.enabled = true;
    await b.execute(() => 1);
    recorder.enabled = false;
    await b.execute(() => 1);
    expect(recorder.recordedCalls).toBe(1);
    recorder.dispose();
    recorder.enabled = true; // disposed: stays detached
    await b.execute(() => 1);
    expect(recorder.recordedCalls).toBe(1);
  });

  it('survives a directory it cannot create: the error is kept, calls and callers are unaffected', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const clock = new ManualClock(0);
    const b = breaker('nowhere', clock);
    const recorder = new TrafficRecorder({ dir: join(blocker, 'sub') });
    recorder.attach(b);
    await expect(b.execute(() => 'ok')).resolves.toBe('ok');
    await recorder.close();
    expect((recorder.lastError as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(recorder.recent()).toHaveLength(1);
  });

  it('drops calls from the files, counting them, rather than queue more than maxQueuedLines for the disk', async () => {
    const clock = new ManualClock(0);
    const b = breaker('burst', clock);
    const recorder = new TrafficRecorder({ dir, maxQueuedLines: 50, batchLines: 1_000_000, memoryCalls: 0 });
    recorder.attach(b);
    await Promise.all(Array.from({ length: 80 }, (_, i) => b.execute(() => i)));
    await recorder.close();
    expect(recorder.droppedCalls).toBe(30);
    expect(recorder.recordedCalls).toBe(80);
    const traffic = await loadRecording(dir);
    expect(traffic.get('burst')!.start.length).toBe(50);
  });

  it('refuses invalid options, naming them', () => {
    expect(() => new TrafficRecorder({ maxFiles: 0 })).toThrow(/maxFiles must be an integer from 1/);
    expect(() => new TrafficRecorder({ dir, filePrefix: '../x' })).toThrow(/filePrefix/);
    expect(() => new TrafficRecorder({ memoryCalls: -1 })).toThrow(/memoryCalls/);
    expect(() => new TrafficRecorder({ bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    expect(() => new TrafficRecorder({ enabled: 'yes' as never })).toThrow(/enabled must be a boolean/);
  });
});

describe('TrafficRecorder, attacked', () => {
  it('keeps at most maxFiles files on disk across restarts into the same directory', async () => {
    for (let run = 0; run < 5; run++) {
      const clock = new ManualClock(1_000_000 + run * 1_000);
      const b = breaker('api', clock);
      const recorder = new TrafficRecorder({ dir, maxFiles: 2 });
      recorder.attach(b);
      await b.execute(() => 'ok');
      await recorder.close();
    }
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    // The newest runs are the ones kept.
    const traffic = await loadRecording(dir);
    expect(Array.from(traffic.get('api')!.start)).toEqual([1_003_000, 1_004_000]);
  });

  it('records calls whose errors carry hostile names (not a string, a throwing getter, no constructor)', async () => {
    const clock = new ManualClock(5_000);
    const b = new CircuitBreaker('api', { clock, logger: false, failureThreshold: 100, timeoutMs: 0 });
    const recorder = new TrafficRecorder();
    recorder.attach(b);
    const numbered = Object.assign(new Error('x'), { name: 42 });
    const trap = new Error('y');
    Object.defineProperty(trap, 'name', { get() { throw new Error('gotcha'); } });
    const orphan = Object.setPrototypeOf(new Error('z'), null) as Error;
    const hostile = Object.assign(new Error('w'), { name: '' });
    Object.defineProperty(hostile, 'constructor', { value: { name: 7 } });
    for (const error of [numbered, trap, orphan, hostile]) await b.execute(() => Promise.reject(error)).catch(() => {});
    const calls = recorder.recent();
    expect(calls).toHaveLength(4);
    for (const call of calls) {
      expect(call.outcome).toBe('failure');
      expect(typeof call.errorClass).toBe('string');
    }
  });

  it('a call longer than a day, as the breaker saw it, reads back', async () => {
    const clock = new ManualClock(5_000);
    const b = new CircuitBreaker('api', { clock, logger: false, timeoutMs: 0 });
    const recorder = new TrafficRecorder({ dir });
    recorder.attach(b);
    await b.execute(() => {
      clock.stall(90_000_000);
      return 'ok';
    });
    await recorder.close();
    const traffic = await loadRecording(dir);
    expect(traffic.get('api')!.duration[0]).toBe(90_000_000);
  });
});

describe('TrafficRecorder, switched on while calls are in flight', () => {
  it('does not record a call whose start it did not see as an instant call at its end', async () => {
    const clock = new ManualClock(10_000);
    const b = new CircuitBreaker('api', { clock, logger: false, failureThreshold: 5, timeoutMs: 0 });
    const recorder = new TrafficRecorder({ enabled: false });
    recorder.attach(b);
    const { promise, resolve } = Promise.withResolvers<string>();
    const before = b.execute(() => promise);
    recorder.enabled = true;
    clock.advance(50);
    resolve('ok');
    await before;
    const after = b.execute(() => new Promise<string>((done) => clock.setTimeout(() => done('ok'), 20)));
    clock.advance(20);
    await after;
    // The first call started before recording did: its start and duration are unknown, so it is left
    // out rather than written as a call of 0 ms at its end; the second is recorded as it was.
    expect(recorder.recent().map((c) => [c.start, c.duration])).toEqual([[10_050, 20]]);
  });
});

describe('TrafficRecorder, what it writes can be read', () => {
  it('leaves out a breaker whose name is longer than a recording may hold, saying so, and the rest still loads', async () => {
    const clock = new ManualClock(1_000);
    const long = new CircuitBreaker('x'.repeat(300), { clock, logger: false, timeoutMs: 0 });
    const short = new CircuitBreaker('ok', { clock, logger: false, timeoutMs: 0 });
    const recorder = new TrafficRecorder({ dir });
    recorder.attach(long);
    recorder.attach(short);
    await long.execute(() => 'a');
    await short.execute(() => 'b');
    await recorder.close();
    expect([...(await loadRecording(dir)).keys()]).toEqual(['ok']);
    expect(String(recorder.lastError)).toMatch(/breaker name of 300 characters is longer than a recording holds \(256\); not recorded/);
  });

  it('stays off once closed, and reads so', async () => {
    const recorder = new TrafficRecorder();
    await recorder.close();
    await recorder.close(); // twice is fine
    recorder.enabled = true;
    expect(recorder.enabled).toBe(false);
  });
});
