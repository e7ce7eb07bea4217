import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-util.js';
import { retry } from './retry.js';

describe('retry of a failed Response, against a real HTTP server on loopback', () => {
  let server: LoopbackServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('cancels the unread body of the 503 it retries (so its connection is not held), honouring its Retry-After', async () => {
    const responses: ServerResponse[] = [];
    let firstClosed: Promise<unknown> | undefined;
    server = await startLoopbackServer((_request, response) => {
      responses.push(response);
      if (responses.length === 1) {
        firstClosed = once(response, 'close');
        // A 503 whose body never ends: left unread and uncancelled, this request would stay open forever.
        response.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' });
        response.write('busy '.repeat(1_000));
        return;
      }
      response.end('ok');
    });
    const url = server.url;
    const response = await retry({ registry: new CircuitBreakerRegistry(), backoff: { initialDelayMs: 1, maxDelayMs: 1 } }).execute(({ signal }) => fetch(url, { signal }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    // The first response ends because the client cancelled its body (the server never ends it).
    await firstClosed;
    expect(responses).toHaveLength(2);
    expect(responses[0]!.writableEnded).toBe(false);
  });
});
