import { FormData as UndiciFormData, Request as UndiciRequest, fetch as npmUndiciFetch } from 'undici';

/**
 * undici's own `fetch` (the undici this package depends on, the same major as its dispatchers),
 * taking what Node's global `fetch` takes.
 *
 * Why not `globalThis.fetch`: Node bundles its own undici, of another major on most lines (Node 22:
 * undici 6, Node 24: undici 7), and that fetch refuses an undici 8 dispatcher ("invalid
 * onRequestStart method"). Why by hand: undici's fetch recognises a `Request` or a `FormData` body
 * only when it is one of its own classes, and Node's bundled copy has other classes (even on Node
 * 26, whose bundled undici is a separate copy). Without the two conversions below a `Request` fails
 * as "Failed to parse URL from [object Request]" and a `FormData` body is silently sent as the text
 * "[object FormData]". No library bridges the two copies; everything else (`Headers`, `Blob`,
 * streams, `URLSearchParams`, `AbortSignal`) is shared or converted by undici itself.
 */
export function undiciFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  let url: string | URL | UndiciRequest;
  let options: Record<string, unknown> | undefined = init as Record<string, unknown> | undefined;
  if (typeof input === 'string' || input instanceof URL || input instanceof UndiciRequest) {
    url = input;
  } else {
    // fetch(request, init): what the request says, with init on top.
    url = input.url;
    options = { ...requestInit(input), ...init };
  }
  const body = options?.['body'];
  if (typeof body === 'object' && body !== null && body instanceof FormData && !(body instanceof UndiciFormData)) {
    options = { ...options, body: copyFormData(body) };
  }
  // undici's Response is not Node's global class, but it is the same WHATWG Response.
  return npmUndiciFetch(url, options as Parameters<typeof npmUndiciFetch>[1]) as unknown as Promise<Response>;
}

/** What a Request of Node's own fetch carries, as fetch options. */
function requestInit(request: Request): Record<string, unknown> {
  const init: Record<string, unknown> = {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    redirect: request.redirect,
    referrer: request.referrer,
    referrerPolicy: request.referrerPolicy,
    mode: request.mode,
    credentials: request.credentials,
    cache: request.cache,
    integrity: request.integrity,
    keepalive: request.keepalive,
  };
  // Streamed on, not read into memory first: a request body may be an upload of any size.
  if (request.body !== null) Object.assign(init, { body: request.body, duplex: 'half' });
  return init;
}

function copyFormData(form: FormData): UndiciFormData {
  const copy = new UndiciFormData();
  // Values are strings or Files; File is Node's own (node:buffer) in both copies of undici.
  for (const [name, value] of form) copy.append(name, value as string | Blob);
  return copy;
}
