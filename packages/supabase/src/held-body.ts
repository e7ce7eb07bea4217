import { ResponseTooLargeError } from './response-too-large-error.js';
import type { SupabaseService } from './supabase-request.js';

/**
 * Reads a response's body inside the breaker call, so the breaker's timeout covers the whole request,
 * not only the headers, and a connection that breaks mid-body counts as the failure it is. At most
 * `maxBytes` are read: a `Content-Length` above it is refused before reading, and a body without one
 * (chunked, or compressed: a small gzip can inflate to gigabytes) is counted while it streams and cut
 * at the limit, its connection closed, with a {@link ResponseTooLargeError}.
 *
 * Why by hand: the obvious `new Response(await response.arrayBuffer(), response)` costs ~20 µs per
 * request in undici (a new body stream, a header copy, a second stream read): 3.5 % of a query against
 * a local database, more than this package's whole budget. Reading the bytes once (the client would
 * read them anyway) and answering the body methods of the *same* response from them costs ~2 µs: the
 * response keeps its identity, status, headers and URL and becomes a {@link HeldResponse}. Reading the
 * body twice fails, as with any response; `body` and `clone()` still work.
 */
export function holdBody(response: Response, maxBytes: number, service: SupabaseService): Response | Promise<Response> {
  const body = response.body;
  if (body === null) return response;
  // An event stream (a streaming edge function) is handed on live: its timeout covers the headers.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
  const announced = response.headers.get('content-length');
  if (announced !== null && !response.headers.has('content-encoding')) {
    const length = Number(announced);
    if (length > maxBytes) {
      body.cancel().catch(() => {});
      return Promise.reject(new ResponseTooLargeError(service, response.status, maxBytes, length, true));
    }
    // undici ends the body at Content-Length: reading it whole cannot pass the limit.
    if (Number.isSafeInteger(length)) return response.arrayBuffer().then((buffer) => hold(response, buffer));
  }
  return readAtMost(body, maxBytes, response.status, service).then((buffer) => hold(response, buffer));
}

async function readAtMost(body: ReadableStream<Uint8Array>, maxBytes: number, status: number, service: SupabaseService): Promise<ArrayBuffer> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // Cancelling the body closes its connection: the rest is never received.
      reader.cancel().catch(() => {});
      throw new ResponseTooLargeError(service, status, maxBytes, total, false);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) {
    const only = chunks[0]!;
    if (only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only.buffer as ArrayBuffer;
  }
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined.buffer;
}

function hold(response: Response, buffer: ArrayBuffer): Response {
  // A Response of another fetch implementation would fail the global Response's own getters.
  if (!(response instanceof Response)) return copy(response, buffer);
  (response as HeldResponse)[HELD] = { buffer, used: false };
  return Object.setPrototypeOf(response, HeldResponse.prototype) as HeldResponse;
}

const HELD = Symbol('phlow.supabase.held-body');
const decoder = new TextDecoder();

interface Held {
  readonly buffer: ArrayBuffer;
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
    return read(this, (bytes) => bytes);
  },
  /** `bytes()` came with Node 22's fetch; answered here on every version. */
  bytes(this: HeldResponse): Promise<Uint8Array> {
    return read(this, (bytes) => new Uint8Array(bytes));
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
    return copy(this, held.buffer.slice(0));
  },
});

function take(held: Held): ArrayBuffer {
  if (held.used) throw new TypeError('Body is unusable: Body has already been read');
  held.used = true;
  return held.buffer;
}

function read<T>(response: HeldResponse, convert: (bytes: ArrayBuffer) => T): Promise<T> {
  try {
    return Promise.resolve(convert(take(response[HELD])));
  } catch (error) {
    return Promise.reject(error);
  }
}

function copy(response: Response, bytes: ArrayBuffer): Response {
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
}
