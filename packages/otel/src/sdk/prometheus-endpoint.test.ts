import { once } from 'node:events';
import { connect } from 'node:net';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers, type RegistryInstrumentationOptions } from '../instrument-circuit-breakers.js';
import { CALL_DURATION_BUCKETS } from '../telemetry-names.js';
import { settle } from '../test-support.test-util.js';
import { VERSION } from '../version.js';
import { startTelemetry, type TelemetryOptions } from './start-telemetry.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real scrape endpoint on loopback with one breaker tripped open by three failures of 30 ms. */
async function scrapeOpenBreaker(
  prometheus: TelemetryOptions['prometheus'],
  options: RegistryInstrumentationOptions = {},
): Promise<string[]> {
  const telemetry = await startTelemetry({
    serviceName: 'checkout',
    prometheus: { host: '127.0.0.1', port: 0, ...prometheus },
  });
  // Shut down before returning: NodeSDK's globals allow one running SDK, and a test may scrape twice.
  await using _stop = telemetry;
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ clock, logger: false, failureThreshold: 3 });
  using instrumentation = instrumentCircuitBreakers(registry, { meterProvider: telemetry.meterProvider!, ...options });
  expect(instrumentation.callDurations).toBe(options.callDurations ?? 'producer');
  const breaker = registry.getBreaker('external_api');
  for (let i = 0; i < 3; i++) {
    await settle(
      breaker.execute(async () => {
        clock.advance(30);
        throw new Error('503');
      }),
    );
  }
  expect(breaker.state).toBe('open');

  expect(telemetry.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const response = await fetch(telemetry.prometheusUrl!);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return (await response.text()).split('\n');
}

describe('Prometheus scrape endpoint (real exporter over HTTP)', () => {
  it('serves the two series the guide alerts on, with scope labels and target_info by default', async () => {
    const lines = await scrapeOpenBreaker({});
    const scope = `otel_scope_name="@phlow/otel",otel_scope_version="${VERSION}"`;
    expect(lines).toContain(`phlow_circuit_breaker_state{name="external_api",state="open",${scope}} 1`);
    expect(lines).toContain(`phlow_circuit_breaker_state{name="external_api",state="closed",${scope}} 0`);
    expect(lines).toContain(`phlow_circuit_breaker_failures_total{name="external_api",${scope}} 3`);
    expect(lines).toContain('# TYPE phlow_circuit_breaker_state gauge');
    expect(lines).toContain('# TYPE phlow_circuit_breaker_failures_total counter');
    expect(lines).toContain(
      '# HELP phlow_circuit_breaker_failures_total Calls the circuit breaker counted as failures (errors, failing results and timeouts).',
    );
    expect(lines.filter((line) => line.startsWith('target_info{'))).toEqual([
      expect.stringMatching(/^target_info\{service_name="checkout",.*telemetry_sdk_language="nodejs",.*\} 1$/),
    ]);
    expect(lines.filter((line) => line.startsWith('phlow_circuit_breaker_state{'))).toHaveLength(5);
    expect(lines.join('\n')).not.toContain('description missing');
  });

  it('serves exactly the guide lines without target_info and scope labels', async () => {
    const lines = await scrapeOpenBreaker({ withoutTargetInfo: true, withoutScopeInfo: true });
    expect(lines).toContain('phlow_circuit_breaker_state{name="external_api",state="open"} 1');
    expect(lines).toContain('phlow_circuit_breaker_failures_total{name="external_api"} 3');
    expect(lines.filter((line) => line.startsWith('phlow_circuit_breaker_state{'))).toEqual([
      'phlow_circuit_breaker_state{name="external_api",state="closed"} 0',
      'phlow_circuit_breaker_state{name="external_api",state="open"} 1',
      'phlow_circuit_breaker_state{name="external_api",state="half_open"} 0',
      'phlow_circuit_breaker_state{name="external_api",state="forced_open"} 0',
      'phlow_circuit_breaker_state{name="external_api",state="disabled"} 0',
    ]);
    expect(lines.some((line) => line.startsWith('target_info'))).toBe(false);
    expect(lines.some((line) => line.includes('otel_scope_name'))).toBe(false);
    // the other instruments, as Prometheus names them
    expect(lines).toContain('phlow_circuit_breaker_calls_total{name="external_api",outcome="failure"} 3');
    expect(lines).toContain('phlow_circuit_breaker_transitions_total{name="external_api",from="closed",to="open"} 1');
    expect(lines).toContain('phlow_circuit_breaker_call_duration_count{name="external_api",outcome="failure"} 3');
    expect(lines).toContain('phlow_circuit_breaker_call_duration_bucket{name="external_api",outcome="failure",le="+Inf"} 3');
  });

  it('serves the duration histogram from the producer exactly as the SDK histogram served it', async () => {
    const durationLines = (lines: string[]) => lines.filter((line) => /phlow_circuit_breaker_call_duration\b|call_duration_/.test(line));
    const produced = durationLines(await scrapeOpenBreaker({}));
    const recorded = durationLines(await scrapeOpenBreaker({}, { callDurations: 'sdk-histogram' }));
    expect(produced).toEqual(recorded);
    const scope = `otel_scope_name="@phlow/otel",otel_scope_version="${VERSION}"`;
    const series = `name="external_api",outcome="failure",${scope}`;
    expect(produced).toEqual([
      '# HELP phlow_circuit_breaker_call_duration Duration of calls the circuit breaker admitted, from admission to outcome.',
      '# UNIT phlow_circuit_breaker_call_duration s',
      '# TYPE phlow_circuit_breaker_call_duration histogram',
      `phlow_circuit_breaker_call_duration_count{${series}} 3`,
      `phlow_circuit_breaker_call_duration_sum{${series}} 0.09`,
      // three 30 ms calls: none up to 25 ms, all from 50 ms on
      ...CALL_DURATION_BUCKETS.map((le) => `phlow_circuit_breaker_call_duration_bucket{${series},le="${le}"} ${le < 0.03 ? 0 : 3}`),
      `phlow_circuit_breaker_call_duration_bucket{${series},le="+Inf"} 3`,
    ]);
  });

  it('answers 404 off the metrics path and stops listening after shutdown', async () => {
    const telemetry = await startTelemetry({ prometheus: { host: '127.0.0.1', port: 0, path: '/prom' } });
    const url = telemetry.prometheusUrl!;
    expect(url).toMatch(/\/prom$/);
    expect((await fetch(url.replace(/\/prom$/, '/metrics'))).status).toBe(404);
    expect((await fetch(url)).status).toBe(200);
    await telemetry.shutdown();
    await telemetry.shutdown(); // idempotent
    await expect(fetch(url)).rejects.toThrow(TypeError); // connection refused
  });

  it('answers 400 to a request target that is no valid URL, and keeps serving (the parse error must not end the process)', async () => {
    const telemetry = await startTelemetry({ prometheus: { host: '127.0.0.1', port: 0 } });
    await using _stop = telemetry;
    const url = new URL(telemetry.prometheusUrl!);
    // Node's HTTP parser accepts this request line; `new URL` throws on its port.
    const answer = await rawRequest(url, 'GET http://a:99999/metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(url)).status).toBe(200);
  });

  it('shuts down even while a client holds a request open without finishing it', async () => {
    const telemetry = await startTelemetry({ prometheus: { host: '127.0.0.1', port: 0 } });
    const url = new URL(telemetry.prometheusUrl!);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // headers never end
    socket.on('error', () => {}); // cut off: a reset is what the client may see (Node 26 reports ECONNRESET)
    // Not events.once: it rejects on an 'error' event, and the reset is expected here.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await telemetry.shutdown(); // resolves: the half-sent request is cut off instead of holding it
    await closed;
  });
});

/** Sends `text` as is and resolves to everything the server answered before closing. */
async function rawRequest(url: URL, text: string): Promise<string> {
  const socket = connect(Number(url.port), url.hostname);
  socket.setEncoding('utf8');
  let answer = '';
  socket.on('data', (chunk: string) => (answer += chunk));
  await once(socket, 'connect');
  socket.end(text);
  await once(socket, 'close');
  return answer;
}
