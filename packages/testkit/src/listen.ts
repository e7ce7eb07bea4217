import type { Server } from 'node:net';

/** Starts `server` listening on `host:port` and resolves with the bound port (the real one when 0 was asked). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`server bound to an unexpected address: ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

/**
 * Closes `server` and resolves once it is fully closed. Callers destroy their tracked sockets first,
 * otherwise `close` waits for every keep-alive connection to go away by itself.
 */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((error) => (error === undefined ? resolve() : reject(error)));
  });
}

/** Formats a host for use inside a URL (IPv6 addresses need brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
