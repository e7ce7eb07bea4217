import { readAtMost } from '@phlow/circuit-breaker/internal';
import { ResponseTooLargeError } from './response-too-large-error.js';
import type { SupabaseService } from './supabase-request.js';

/**
 * Reads a response's body inside the breaker call, so the breaker's timeout covers the whole request,
 * not only the headers, and a connection that breaks mid-body counts as the failure it is. At most
 * `maxBytes` are read (`readAtMost`: a `Content-Length` above it is refused before reading, a body
 * without one is cut at the limit, its connection closed), else a {@link ResponseTooLargeError}.
 *
 * Why the response is kept: the obvious `new Response(bytes, response)` costs ~20 µs per request in
 * undici (a new body stream, a header copy, a second stream read): 3.5 % of a query against a local
 * database, more than this package's whole budget. Answering the body methods of the *same* response
 * from the bytes read once (the client would read them anyway) costs ~2 µs: the response keeps its
 * identity, status, headers and URL and becomes a {@link HeldResponse}. Reading the body twice fails,
 * as with any response; `body` and `clone()` still work.
 */
export function holdBody(response: Response, maxBytes: number, service: SupabaseService): Response | Promise<Response> {
  // A protection underneath held it already (two layers): it is in memory, and `body` would consume it.
  const held = (response as Partial<HeldResponse>)[HELD];
  if (held !== undefined && !held.used) {
    if (held.bytes.byteLength <= maxBytes) return response;
    return Promise.reject(new ResponseTooLargeError(service, response.status, maxBytes, held.bytes.byteLength, false));
  }
  if (response.body === null) return response;
  // An edge function's event stream is handed on live: its timeout covers the headers. Only a
  // function's: the other APIs never stream, and the label alone would lift the cap on any answer.
  if (service === 'functions' && response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
  return readAtMost(response, maxBytes).then((read) => {
    if (!read.ok) throw new ResponseTooLargeError(service, response.status, maxBytes, read.bytes, read.announced);
    return hold(response, read.bytes);
  });
}

function hold(response: Response, bytes: Uint8Array): Response {
  // A Response of another fetch implementation would fail the global Response's own getters.
  if (!(response instanceof Response)) return copy(response, bytes);
  (response as HeldResponse)[HELD] = { bytes, used: false };
  return Object.setPrototypeOf(response, HeldResponse.prototype) as HeldResponse;
}

const HELD = Symbol('phlow.supabase.held-body');
const decoder = new TextDecoder();

interface Held {
  readonly bytes: Uint8Array;
  used: boolean;
}

/** A response whose body was read already and is answered from memory. */
class HeldResponse extends Response {
  declare [HELD]: Held;
}

// Node's type definitions declare the body members as properties, so they join the prototype here.
Object.defineProperties(HeldResponse.prototype, {
  bodyUsed: {
    get(this: HeldResponse): boolean {
      return this[HELD].used;
    },
  },
  body: {
    get(this: HeldResponse): ReadableStream<Uint8Array> | null {
      const held = this[HELD];
      return held.used ? null : copy(this, take(held)).body;
    },
  },
});

Object.assign(HeldResponse.prototype, {
  text(this: HeldResponse): Promise<string> {
    return read(this, (bytes) => decoder.decode(bytes));
  },
  json(this: HeldResponse): Promise<unknown> {
    return read(this, (bytes) => JSON.parse(decoder.decode(bytes)) as unknown);
  },
  arrayBuffer(this: HeldResponse): Promise<ArrayBuffer> {
    return read(this, toArrayBuffer);
  },
  /** `bytes()` came with Node 22's fetch; answered here on every version. */
  bytes(this: HeldResponse): Promise<Uint8Array> {
    return read(this, (bytes) => bytes);
  },
  blob(this: HeldResponse): Promise<Blob> {
    return read(this, (bytes) => new Blob([bytes], { type: this.headers.get('content-type') ?? '' }));
  },
  formData(this: HeldResponse): Promise<FormData> {
    return read(this, (bytes) => copy(this, bytes)).then((response) => response.formData());
  },
  clone(this: HeldResponse): Response {
    const held = this[HELD];
    if (held.used) throw new TypeError('Response.clone: Body has already been consumed.');
    return copy(this, held.bytes.slice());
  },
});

function take(held: Held): Uint8Array {
  if (held.used) throw new TypeError('Body is unusable: Body has already been read');
  held.used = true;
  return held.bytes;
}

function read<T>(response: HeldResponse, convert: (bytes: Uint8Array) => T): Promise<T> {
  try {
    return Promise.resolve(convert(take(response[HELD])));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The bytes as an ArrayBuffer of their own: a chunk read from a stream may be a view into a larger one. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return whole ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}

function copy(response: Response, bytes: Uint8Array): Response {
  return new Response(bytes as Uint8Array<ArrayBuffer>, { status: response.status, statusText: response.statusText, headers: response.headers });
}
