import { context, propagation, SpanStatusCode, type Attributes, type Span, type TextMapSetter } from '@opentelemetry/api';
import { ATTR_DB_RESPONSE_STATUS_CODE, ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import {
  CircuitOpenError,
  CircuitTimeoutError,
  type CircuitBreaker,
  type CircuitBreakerFamily,
  type Outcome,
} from '@phlow/circuit-breaker';
import { checkOneOf } from '@phlow/circuit-breaker/internal';
import { withBreakerSpan } from '@phlow/otel';
import { holdBody } from './held-body.js';
import { GUARDED_BY, guardedBy, type GuardedInit, isRejectionResponse, isVerdictFromBelow, markProtected } from './layering.js';
import { resolveSupabaseOptions, type ResolvedSupabaseOptions, type SupabaseProtectionOptions } from './options.js';
import { rejectionResponse, RequestRejectedError, RequestTimeoutError } from './rejection.js';
import {
  describeRequest,
  isDownload,
  projectLocation,
  requestUrl,
  serviceOf,
  headerValue,
  type FetchHeaders,
  type FetchInput,
  type ProjectLocation,
  type SupabaseService,
  SUPABASE_SERVICES,
} from './supabase-request.js';
import { ATTR_OUTCOME } from './telemetry-names.js';

/** A `fetch` whose every request goes through a circuit breaker of the project: its API's own, by default. */
export interface ProtectedFetch {
  (input: FetchInput, init?: RequestInit): Promise<Response>;
  /** The breaker guarding `service` (default `'rest'`): the service's own (`supabase/rest`…), or `supabase/all` without `perService`. */
  breakerFor(service?: SupabaseService): CircuitBreaker;
}

/**
 * What one admitted request came to. The protected function never throws for a network error: it
 * returns it here with its outcome, so the breaker judges the attempt (a retry's failure is counted
 * once, with its operation) and the error still reaches the caller unchanged.
 */
interface AttemptResult {
  readonly response: Response | undefined;
  readonly error: unknown;
  readonly outcome: Outcome;
}

/** Shared by every breaker this package creates, so the registry sees one configuration per name. */
const classifyAttempt = (attempt: unknown): Outcome => (attempt as AttemptResult).outcome;

/** Which project each family protects, and how: one per project, never shared by two by accident. */
const projects = new WeakMap<CircuitBreakerFamily, { readonly base: string; readonly perService: boolean }>();

/** The one member of a family with `perService: false`: every API of the project. */
const ALL_SERVICES = 'all';

/**
 * A family holding every service's breaker, never more: a member is never retired (that would drop the
 * listeners a caller attached through `breakerFor`), and there is no key to evict for.
 */
const SERVICE_FAMILY = { maxKeys: SUPABASE_SERVICES.length, idleTtlMs: 2_147_483_647 } as const;

/**
 * Wraps `fetch` so every request to the Supabase project at `supabaseUrl` goes through a circuit
 * breaker with the guide's defaults (3 failures, 30 s recovery, 10 s timeout) — one per API by
 * default (`supabase/rest`, `supabase/storage`, `supabase/auth`, `supabase/functions`), so a slow
 * storage cannot get database queries refused. Hand it to a client you build yourself:
 * `createClient(url, key, { global: { fetch: protectFetch(url) } })` — supabase-js sends every request
 * (PostgREST, auth, storage, functions) through it. Not to `createClient` from this package, which
 * protects its requests itself (it refuses a protected `global.fetch`).
 *
 * @example
 * const supabase = createClient(url, key, { global: { fetch: protectFetch(url, { breaker: { timeoutMs: 5_000 } }) } });
 * const { data, error, status } = await supabase.from('agents').select('id');
 * if (isCircuitRejection(error)) useCachedAgents();
 */
export function protectFetch(supabaseUrl: string, options?: SupabaseProtectionOptions): ProtectedFetch {
  if (typeof supabaseUrl !== 'string' || !/^https?:\/\//i.test(supabaseUrl)) {
    throw new TypeError(`supabaseUrl must be an http:// or https:// URL; got ${JSON.stringify(supabaseUrl)}`);
  }
  const resolved = resolveSupabaseOptions(options);
  const project = projectLocation(supabaseUrl);
  const family = resolved.registry.getFamily(resolved.name, { ...resolved.breaker, classifyResult: classifyAttempt }, SERVICE_FAMILY);
  bindToProject(family, resolved.name, { base: project.base, perService: resolved.perService });
  // Asked per request, not cached: the family owns its members (and marks them used).
  // The service is checked: an unknown one would become a member of the family, whose room is the six
  // services, and push out a real service's breaker (its state and its listeners with it).
  const breakerFor = (service: SupabaseService = 'rest'): CircuitBreaker => {
    checkOneOf('breakerFor: service', service, SUPABASE_SERVICES);
    return family.get(resolved.perService ? service : ALL_SERVICES);
  };
  breakerFor('rest'); // surface a configuration clash now, not at the first request
  const protectedFetch = (input: FetchInput, init?: RequestInit): Promise<Response> =>
    send(resolved, project, breakerFor, input, init);
  return markProtected(Object.assign(protectedFetch, { breakerFor }));
}

/** One family per project, with one layout: members per API and an `all` member would count one project twice. */
function bindToProject(family: CircuitBreakerFamily, name: string, binding: { readonly base: string; readonly perService: boolean }): void {
  const existing = projects.get(family);
  if (existing === undefined) {
    projects.set(family, binding);
    return;
  }
  if (existing.base !== binding.base) {
    throw new TypeError(
      `circuit breaker family ${JSON.stringify(name)} already protects the Supabase project ${existing.base}; ` +
        `give ${binding.base} its own family with the name option (one name per project)`,
    );
  }
  if (existing.perService !== binding.perService) {
    throw new TypeError(
      `circuit breaker family ${JSON.stringify(name)} already protects ${existing.base} with perService: ${existing.perService}; ` +
        `got perService: ${binding.perService} (one layout per name: give this one another name)`,
    );
  }
}

function send(
  options: ResolvedSupabaseOptions,
  project: ProjectLocation,
  breakerFor: (service: SupabaseService) => CircuitBreaker,
  input: FetchInput,
  init: RequestInit | undefined,
): Promise<Response> {
  const isRequest = typeof input === 'object' && input instanceof Request;
  const url = requestUrl(input);
  const method = (init?.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
  const service = serviceOf(project, url);
  const breaker = breakerFor(service);
  const fetchImpl = options.fetch ?? fetch;
  // A protected fetch above guards this request with the same breaker already: one request, one count.
  if (guardedBy(init) === breaker) return fetchImpl(input, init);
  const headers = init?.headers ?? (isRequest ? input.headers : undefined);
  const request = describeRequest(project, service, url, method, headers);
  const callerSignal = init?.signal ?? (isRequest ? input.signal : undefined);
  // A postgrest-js retry belongs to an operation whose first failure was already counted: while the
  // breaker is closed its failure is ignored (one operation, one count); once the breaker is open it is
  // refused like any request, and when half-open it is a probe like any other.
  const state = breaker.state;
  const countedAlready = request.attempt > 0 && state === 'closed';
  // Describing a request for its span costs more than the span itself, so a closed breaker's spans get
  // their attributes once we know someone records them; a call that may be refused gets them up front,
  // since a refused call never reaches the function that would add them.
  let attributes: Attributes | undefined;
  if (state !== 'closed') describeRequest(project, service, url, method, headers, (attributes = {}));
  const untimed = breaker.options.timeoutMs === 0;
  const classify = options.classifyStatus;
  // A storage download is judged on its status and headers and handed on as a live stream: a large or
  // slow file must neither be held in memory nor hold the breaker's timeout.
  const download = service === 'storage' && isDownload(project, url, method);
  const maxBodyBytes = options.maxBodyBytes;
  return withBreakerSpan(
    options.tracer,
    breaker,
    request.spanName,
    ({ signal }, span): Promise<AttemptResult> => {
      let sent = init;
      if (span.isRecording()) {
        if (attributes === undefined) {
          const lazy: Attributes = {};
          describeRequest(project, service, url, method, headers, lazy);
          span.setAttributes(lazy);
        }
        // supabase-js's `tracePropagation` writes the caller's span into traceparent before this fetch
        // runs; the request's parent is this span.
        if (init !== undefined && headerValue(headers, 'traceparent') !== null) sent = withTraceContext(init, headers);
      }
      // Without a timeout or a caller's signal the call's signal never aborts: fetch need not listen to it.
      // The init names this breaker, so a protected fetch underneath using the same one lets it through.
      const passed: GuardedInit =
        untimed && callerSignal == null
          ? { ...sent, [GUARDED_BY]: breaker }
          : { ...sent, signal: download ? downloadSignal(signal, callerSignal) : signal, [GUARDED_BY]: breaker };
      const answered = fetchImpl(input, passed);
      return (download ? answered : answered.then((response) => holdBody(response, maxBodyBytes, service))).then(
        (response): AttemptResult | Promise<AttemptResult> => {
          let judged = classify(response.status, service);
          // A protection underneath refused the request: nothing reached the project.
          if (judged === 'failure' && isRejectionResponse(response)) judged = 'ignored';
          const attempt: AttemptResult = { response, error: undefined, outcome: countedAlready && judged === 'failure' ? 'ignored' : judged };
          if (!span.isRecording()) return attempt;
          recordResponse(span, response, attempt.outcome);
          return response.status < 400 || download ? attempt : recordErrorCode(span, response).then(() => attempt);
        },
        (error: unknown) => {
          // A caller's own abort settled the call already (not a failure). A body over the limit, or a
          // verdict of a protection underneath, says nothing about the project; anything else is the network's.
          const outcome: Outcome = countedAlready || isVerdictFromBelow(error) ? 'ignored' : 'failure';
          if (span.isRecording() && !signal.aborted) recordNetworkError(span, error, outcome);
          return { response: undefined, error, outcome };
        },
      );
    },
    callerSignal === undefined || callerSignal === null ? { attributes } : { attributes, signal: callerSignal },
  ).then(
    (attempt) => {
      if (attempt.response === undefined) throw attempt.error;
      return attempt.response;
    },
    (error: unknown) => {
      if (CircuitOpenError.isInstance(error) && error.breakerName === breaker.name) {
        if (options.rejectWith === 'error') throw new RequestRejectedError(error, breaker.options.clock);
        return rejectionResponse(error, options.rejectionStatus, service);
      }
      if (CircuitTimeoutError.isInstance(error) && error.breakerName === breaker.name) throw new RequestTimeoutError(error);
      throw error;
    },
  );
}

/**
 * A download's signal: the call's (a timeout before the headers aborts it) and, for as long as the body
 * streams, the caller's own. The call's signal is unlinked from the caller's once the call has ended.
 */
function downloadSignal(callSignal: AbortSignal, callerSignal: AbortSignal | null | undefined): AbortSignal {
  return callerSignal == null ? callSignal : AbortSignal.any([callSignal, callerSignal]);
}

const headerSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

function withTraceContext(init: RequestInit, headers: FetchHeaders): RequestInit {
  const carrier = new Headers(headers);
  propagation.inject(context.active(), carrier, headerSetter);
  return { ...init, headers: carrier };
}

function recordResponse(span: Span, response: Response, outcome: Outcome): void {
  const status = response.status;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  span.setAttribute(ATTR_OUTCOME, outcome);
  if (status < 400) return;
  // A failed operation is an error on a client span, whether or not the breaker counts it.
  span.setAttribute(ATTR_ERROR_TYPE, String(status));
  span.setStatus({ code: SpanStatusCode.ERROR, message: response.statusText });
}

/** Puts the error `code` of an error response (PostgREST's SQLSTATE or `PGRST…`) on the span. */
async function recordErrorCode(span: Span, response: Response): Promise<void> {
  try {
    const body = (await response.clone().json()) as { code?: unknown; message?: unknown };
    if (typeof body?.code === 'string' && body.code !== '') span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, body.code);
    if (typeof body?.message === 'string') span.setStatus({ code: SpanStatusCode.ERROR, message: body.message });
  } catch {
    // not JSON (a gateway's HTML page): the status says enough
  }
}

function recordNetworkError(span: Span, error: unknown, outcome: Outcome): void {
  span.setAttribute(ATTR_OUTCOME, outcome);
  if (error instanceof Error) span.recordException(error);
  else span.recordException(String(error));
  span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? errorName(error) : '_OTHER');
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** `TypeError` says little about a fetch failure; its cause's code (ECONNREFUSED, UND_ERR_SOCKET) says what broke. */
function errorName(error: Error): string {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error.name;
}
