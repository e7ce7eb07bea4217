// Stopping every component leaves no active handles. Kept in its own file (its own worker) so handles of
// other tests' keep-alive connections cannot blur the count.
import { describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';
import { fetchErrorCode, startRecordingServer, tcpHandles, until } from './test-servers.test-util.js';

describe('stop() leaves no active handles', () => {
  it('FaultProxy, with a request hanging in the black hole and one forwarded', async () => {
    const target = await startRecordingServer();
    const before = tcpHandles();
    const timersBefore = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const proxy = new FaultProxy({ target: target.url, faults: { latency: { ms: 5 } } });
    await proxy.start();
    await fetch(proxy.url).then((response) => response.text());
    await proxy.setFaults({ blackHole: true });
    const pending = fetchErrorCode(fetch(proxy.url));
    await until(() => proxy.stats().requests.blackHoled === 1);
    await proxy.stop();
    expect(await pending).toBe('UND_ERR_SOCKET');
    await until(() => tcpHandles() === before);
    expect(tcpHandles()).toBe(before);
    expect(process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
    await target.stop();
  });
});
