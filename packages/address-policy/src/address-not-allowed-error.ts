import { errorMarker } from '@phlow/circuit-breaker/internal';
import type { AddressCategory } from './classify-address.js';

const MARKER = errorMarker('phlow.address-policy.address-not-allowed-error');

/**
 * A host is, or resolves to, an address the policy refuses; no connection to it was made. A
 * `TypeError`, as `fetch` reports every network error, so code that handles fetch failures keeps
 * working; a guarded fetch throws it as is (not wrapped in `fetch failed`).
 */
export class AddressNotAllowedError extends TypeError {
  /** `ERR_ADDRESS_NOT_ALLOWED`, like Node's error codes. */
  readonly code = 'ERR_ADDRESS_NOT_ALLOWED';

  constructor(
    /** The host as the URL parser normalised it (an IP address for an IP literal). */
    readonly host: string,
    /** The refused address: the literal itself, an answer of the name lookup, or the connected peer. */
    readonly address: string,
    /** Why it is refused. */
    readonly category: AddressCategory,
  ) {
    super(
      `${host === address ? `${address} is a ${category} address` : `${host} resolves to ${address} (${category})`}; refused to connect. ` +
        'Set allowPrivateAddresses (true, or a list of hosts and addresses) for local development and tests',
    );
  }

  /** Also recognises the error from another copy of this package. */
  static isInstance(value: unknown): value is AddressNotAllowedError {
    return MARKER.isMarked(value);
  }
}
MARKER.mark(AddressNotAllowedError, 'AddressNotAllowedError');

/** The {@link AddressNotAllowedError} in `error` or its `cause` chain (fetch wraps it in `fetch failed`). */
export function findAddressRefusal(error: unknown): AddressNotAllowedError | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (AddressNotAllowedError.isInstance(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
