import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecording } from './read-recording.js';
import { RecordingError } from './recording-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phlow-tune-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const good = '{"b":"api","t":1000,"d":12.5,"o":"success"}';

describe('loadRecording on hostile files', () => {
  it('reads calls per breaker, sorted by start', async () => {
    const path = await file('ok.jsonl', ['{"b":"api","t":2000,"d":1,"o":"failure","e":"HttpError"}', good, '', '{"b":"db","t":5,"d":0,"o":"rejected"}'].join('\n'));
    const traffic = await loadRecording(path);
    expect(Array.from(traffic.get('api')!.start)).toEqual([1000, 2000]);
    expect(traffic.get('db')!.start.length).toBe(1);
  });

  it.each([
    ['not JSON', '{"b":"api",', /bad\.jsonl:2: not JSON/],
    ['an array', '[1,2]', /expected an object/],
    ['no outcome', '{"b":"api","t":1,"d":1}', /"o" \(outcome\) must be one of success, failure, timeout, ignored, rejected; got undefined/],
    ['an unknown outcome', '{"b":"api","t":1,"d":1,"o":"maybe"}', /"o".*got "maybe"/],
    ['a negative duration', '{"b":"api","t":1,"d":-1,"o":"success"}', /"d" \(duration, ms\)/],
    ['a string start', '{"b":"api","t":"1","d":1,"o":"success"}', /"t" \(start, epoch ms\)/],
    ['a huge start', '{"b":"api","t":1e300,"d":1,"o":"success"}', /"t"/],
    ['an empty breaker name', '{"b":"","t":1,"d":1,"o":"success"}', /"b" \(breaker name\)/],
    ['a name only in the prototype', '{"__proto__":{"b":"api"},"t":1,"d":1,"o":"success"}', /"b" \(breaker name\).*got undefined/],
  ])('refuses %s with the file, the line and the problem', async (_, line, message) => {
    const path = await file('bad.jsonl', `${good}\n${line}\n`);
    const error = await loadRecording(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordingError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a file without newlines once it passes the line limit, without reading it all', async () => {
    const path = await file('one-line.jsonl', `${good}\n${'x'.repeat(3 * 2 ** 20)}`);
    await expect(loadRecording(path, { maxLineBytes: 1_000 })).rejects.toThrow(/one-line\.jsonl:2: line longer than 1000 characters/);
  });

  it('reads CRLF line ends', async () => {
    const traffic = await loadRecording(await file('crlf.jsonl', `${good}\r\n${good}\r\n`));
    expect(traffic.get('api')!.start.length).toBe(2);
  });

  it('refuses a line longer than the limit, a file over the byte cap, too many calls or breakers', async () => {
    const long = await file('long.jsonl', `{"b":"${'x'.repeat(5_000)}","t":1,"d":1,"o":"success"}\n`);
    await expect(loadRecording(long, { maxLineBytes: 1_000 })).rejects.toThrow(/line longer than 1000/);
    const many = await file('many.jsonl', Array.from({ length: 50 }, (_, i) => `{"b":"b${i}","t":${i},"d":1,"o":"success"}`).join('\n'));
    await expect(loadRecording(many, { maxBytes: 100 })).rejects.toThrow(/larger than 100 bytes/);
    await expect(loadRecording(many, { maxCalls: 10 })).rejects.toThrow(/more than 10 calls/);
    await expect(loadRecording(many, { maxBreakers: 5 })).rejects.toThrow(/more than 5 breakers/);
  });

  it('says so for a missing file, an empty directory and a file without calls', async () => {
    await expect(loadRecording(join(dir, 'nope.jsonl'))).rejects.toThrow(/nope\.jsonl: no such file/);
    const empty = await mkdtemp(join(dir, 'empty-'));
    await expect(loadRecording(empty)).rejects.toThrow(/no \.jsonl files/);
    await expect(loadRecording(await file('blank.jsonl', '\n\n'))).rejects.toThrow(/no calls/);
  });
});

describe('loadRecording, attacked', () => {
  it('reads a call of 300 days (no timeout) and refuses one longer than a year, naming the line', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'phlow-tune-long-'));
    try {
      await writeFile(join(dir, 'long.jsonl'), `{"b":"x","t":1,"d":${300 * 86_400_000},"o":"success"}\n`);
      expect((await loadRecording(join(dir, 'long.jsonl'))).get('x')!.duration[0]).toBe(300 * 86_400_000);
      await writeFile(join(dir, 'longer.jsonl'), `{"b":"x","t":1,"d":1,"o":"success"}\n{"b":"x","t":1,"d":1e15,"o":"success"}\n`);
      await expect(loadRecording(join(dir, 'longer.jsonl'))).rejects.toThrow(/longer\.jsonl:2: "d" \(duration, ms\) must be a number from 0 to 31536000000 \(a year\); got 1000000000000000/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
