/** What {@link readAtMost} read: the whole body, or how far it got before passing the limit. */
export type BodyRead =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | {
      readonly ok: false;
      /** Bytes announced by `Content-Length` (nothing read), or read when the limit was passed. */
      readonly bytes: number;
      /** Refused on the announced length, before reading. */
      readonly announced: boolean;
    };

/**
 * Reads a response's body whole, or stops as soon as it passes `maxBytes`: a `Content-Length` above the
 * limit is refused before reading, a body without one (chunked, or compressed — a small gzip can
 * inflate to gigabytes) is counted while it streams. Either way the body is cancelled, which closes its
 * connection: the rest is never received. Bodies read here come from other people's servers, so none
 * is read without a bound.
 *
 * Why by hand: `fetch` offers no size limit, and undici's `maxResponseSize` exists only on its own
 * dispatchers (not on a `fetch` a user hands us); a `TransformStream` cap costs a second stream per
 * response.
 */
export async function readAtMost(response: Response, maxBytes: number): Promise<BodyRead> {
  // A NaN limit would let every body through (no count is ever above NaN): refused, not read.
  if (!(typeof maxBytes === 'number' && maxBytes >= 0 && (Number.isSafeInteger(maxBytes) || maxBytes === Number.POSITIVE_INFINITY))) {
    throw new RangeError(`readAtMost: maxBytes must be an integer >= 0 or Infinity; got ${String(maxBytes)}`);
  }
  const body = response.body;
  if (body === null) return { ok: true, bytes: new Uint8Array(0) };
  // Content-Length counts the encoded bytes: trusted only when nothing is decoded.
  const announced = response.headers.has('content-encoding') ? null : response.headers.get('content-length');
  if (announced !== null) {
    const length = Number(announced);
    if (length > maxBytes) {
      body.cancel().catch(() => {});
      return { ok: false, bytes: length, announced: true };
    }
    // A Content-Length within the limit is not trusted to end the body: undici's network bodies stop
    // there, but a `fetch` a user hands us may rebuild responses (a wrapper that decodes and drops
    // Content-Encoding, another fetch implementation), and its body ends where its stream does.
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      return { ok: false, bytes: total, announced: false };
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return { ok: true, bytes: chunks[0]! };
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes: joined };
}
