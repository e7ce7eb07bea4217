import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { AddressNotAllowedError } from './address-not-allowed-error.js';

/** What {@link spyOnConnections} saw. */
export interface ConnectionSpy {
  /** `host:port` of every `net.connect` / `tls.connect` call (a socket was created to connect somewhere). */
  readonly attempts: string[];
  /** `address:port` of every connection undici completed (`undici:client:connected`). */
  readonly connected: string[];
  /** Puts `net.connect` and `tls.connect` back and stops listening. */
  dispose(): void;
  /** The same as {@link ConnectionSpy.dispose}, for `using spy = spyOnConnections()`. */
  [Symbol.dispose](): void;
}

/**
 * Spies on every connection attempt undici's connector makes (`net.connect` / `tls.connect`, called
 * through the module objects at call time) and on the connections it completed
 * (`undici:client:connected`).
 */
export function spyOnConnections(): ConnectionSpy {
  const attempts: string[] = [];
  const connected: string[] = [];
  const originalNet = net.connect;
  const originalTls = tls.connect;
  const record = (options: unknown): void => {
    const o = options as { host?: string; port?: number } | undefined;
    attempts.push(`${o?.host}:${o?.port}`);
  };
  net.connect = ((...args: unknown[]) => {
    record(args[0]);
    return (originalNet as (...a: unknown[]) => unknown)(...args);
  }) as typeof net.connect;
  tls.connect = ((...args: unknown[]) => {
    record(args[0]);
    return (originalTls as (...a: unknown[]) => unknown)(...args);
  }) as typeof tls.connect;
  const onConnected = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    connected.push(`${socket?.remoteAddress}:${socket?.remotePort}`);
  };
  diagnostics.subscribe('undici:client:connected', onConnected);
  const dispose = () => {
    net.connect = originalNet;
    tls.connect = originalTls;
    diagnostics.unsubscribe('undici:client:connected', onConnected);
  };
  return { attempts, connected, dispose, [Symbol.dispose]: dispose };
}


/**
 * The {@link AddressNotAllowedError} `promise` rejects with; throws (naming what happened instead)
 * when it resolves or rejects with anything else.
 */
export async function addressRefusalOf(promise: Promise<unknown>): Promise<AddressNotAllowedError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (AddressNotAllowedError.isInstance(error)) return error;
    throw new Error(`expected an AddressNotAllowedError, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected an AddressNotAllowedError, but the promise resolved with ${String(outcome)}`);
}
