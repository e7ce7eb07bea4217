import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_STORED_PROCEDURE_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import { ATTR_FAAS_INVOKED_NAME, ATTR_SERVICE } from './telemetry-names.js';

/** What `fetch` takes as its first argument (a string, a URL or a Request). */
export type FetchInput = Parameters<typeof fetch>[0];
/** What `fetch` takes as headers (a Headers, pairs or a record), or nothing. */
export type FetchHeaders = RequestInit['headers'];

/** The Supabase API a request goes to, from its path under the project URL. */
export type SupabaseService = 'rest' | 'auth' | 'storage' | 'functions' | 'realtime' | 'other';

/** Every service, in a stable order. */
export const SUPABASE_SERVICES: readonly SupabaseService[] = ['rest', 'auth', 'storage', 'functions', 'realtime', 'other'];

const SERVICE_PREFIXES: readonly (readonly [string, SupabaseService])[] = [
  ['rest/v1', 'rest'],
  ['auth/v1', 'auth'],
  ['storage/v1', 'storage'],
  ['functions/v1', 'functions'],
  ['realtime/v1', 'realtime'],
];

/** A request as the breaker and the span see it. */
export interface SupabaseRequest {
  readonly service: SupabaseService;
  /** Low-cardinality span name, `{operation} {target}`: `select agents`, `rpc score`, `invoke hello`, `auth token`. */
  readonly spanName: string;
  /** The retry attempt postgrest-js numbers in `X-Retry-Count` (0 for a first attempt and other clients). */
  readonly attempt: number;
}

/** Where the project lives: the base every service path hangs from. */
export interface ProjectLocation {
  /** The project URL, normalised, with a trailing slash: `https://abc.supabase.co/`. */
  readonly base: string;
  readonly host: string;
  readonly port: number;
}

export function projectLocation(supabaseUrl: string): ProjectLocation {
  const url = new URL(supabaseUrl.endsWith('/') ? supabaseUrl : `${supabaseUrl}/`);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { base: url.href, host: url.hostname, port };
}

/** The request URL of any `fetch` input. */
export function requestUrl(input: FetchInput): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** A header of a `fetch` init, whether given as `Headers`, an array of pairs or a plain object. */
export function headerValue(headers: FetchHeaders, name: string): string | null {
  if (headers === undefined || headers === null) return null;
  if (headers instanceof Headers) return headers.get(name);
  if (Array.isArray(headers)) {
    for (const [key, value] of headers) if (key !== undefined && key.toLowerCase() === name) return value ?? null;
    return null;
  }
  const record = headers as Record<string, string>;
  if (name in record) return record[name] ?? null;
  for (const key of Object.keys(record)) if (key.toLowerCase() === name) return record[key] ?? null;
  return null;
}

/** Which service a request URL belongs to (cheap: string prefix checks, no URL parsing). */
export function serviceOf(project: ProjectLocation, url: string): SupabaseService {
  if (!url.startsWith(project.base)) return 'other';
  for (const [prefix, service] of SERVICE_PREFIXES) {
    if (url.startsWith(prefix, project.base.length) && isSegmentEnd(url, project.base.length + prefix.length)) return service;
  }
  return 'other';
}

/**
 * A storage object download: a GET or HEAD of an object (`object/{bucket}/…`, `object/public/…`,
 * `object/authenticated/…`, `object/sign/…` with a token) or an image rendition (`render/…`). Listing,
 * metadata (`object/info/…`), buckets and uploads answer with JSON.
 */
export function isDownload(project: ProjectLocation, url: string, method: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = servicePath(project, 'storage', url);
  return (path.startsWith('object/') && !path.startsWith('object/info/')) || path.startsWith('render/');
}

/**
 * Names the request: service, span name and retry attempt. Paths carry ids (storage object paths, user
 * ids under `auth/v1/admin/users/…`), so only the first path segment of auth, storage and realtime
 * names a span; PostgREST tables, RPC functions and edge functions are bounded by the schema.
 * With `attributes`, also fills in the span attributes (skipped when nobody records the span).
 */
export function describeRequest(
  project: ProjectLocation,
  service: SupabaseService,
  url: string,
  method: string,
  headers: FetchHeaders,
  attributes?: Attributes,
): SupabaseRequest {
  const retryCount = headerValue(headers, 'x-retry-count');
  const attempt = retryCount === null ? 0 : Number.parseInt(retryCount, 10) || 0;
  if (attributes !== undefined) {
    attributes[ATTR_SERVICE] = service;
    attributes[ATTR_HTTP_REQUEST_METHOD] = method;
    attributes[ATTR_SERVER_ADDRESS] = project.host;
    attributes[ATTR_SERVER_PORT] = project.port;
    if (attempt > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = attempt;
  }
  let spanName: string;
  if (service === 'other') {
    spanName = method;
  } else {
    const path = servicePath(project, service, url);
    const slash = path.indexOf('/');
    const first = slash === -1 ? path : path.slice(0, slash);
    switch (service) {
      case 'rest': {
        if (attributes !== undefined) {
          attributes[ATTR_DB_SYSTEM_NAME] = DB_SYSTEM_NAME_VALUE_POSTGRESQL;
          const schema = headerValue(headers, method === 'GET' || method === 'HEAD' ? 'accept-profile' : 'content-profile');
          if (schema !== null) attributes[ATTR_DB_NAMESPACE] = schema;
        }
        if (first === 'rpc' && slash !== -1) {
          const next = path.indexOf('/', slash + 1);
          const fn = decode(path.slice(slash + 1, next === -1 ? undefined : next));
          if (attributes !== undefined) {
            attributes[ATTR_DB_OPERATION_NAME] = 'rpc';
            attributes[ATTR_DB_STORED_PROCEDURE_NAME] = fn;
          }
          spanName = `rpc ${fn}`;
        } else {
          const operation = restOperation(method, headers);
          if (attributes !== undefined) attributes[ATTR_DB_OPERATION_NAME] = operation;
          if (first === '') {
            spanName = operation;
          } else {
            const table = decode(first);
            if (attributes !== undefined) attributes[ATTR_DB_COLLECTION_NAME] = table;
            spanName = `${operation} ${table}`;
          }
        }
        break;
      }
      case 'functions': {
        const fn = decode(first);
        if (attributes !== undefined) attributes[ATTR_FAAS_INVOKED_NAME] = fn;
        spanName = `invoke ${fn}`;
        break;
      }
      default:
        spanName = first === '' ? service : `${service} ${decode(first)}`;
    }
  }
  return { service, spanName, attempt };
}

/** PostgREST's verbs as database operations (`Prefer: resolution=…` on a POST is an upsert). */
function restOperation(method: string, headers: FetchHeaders): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'select';
    case 'POST':
      return headerValue(headers, 'prefer')?.includes('resolution=') ? 'upsert' : 'insert';
    case 'PATCH':
      return 'update';
    case 'PUT':
      return 'upsert';
    case 'DELETE':
      return 'delete';
    default:
      return method;
  }
}

/** The path after `{project}/{service}/v1/`, without query or fragment. */
function servicePath(project: ProjectLocation, service: SupabaseService, url: string): string {
  const start = project.base.length + service.length + '/v1/'.length;
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  return start >= end ? '' : url.slice(start, end);
}

function isSegmentEnd(url: string, index: number): boolean {
  if (index >= url.length) return true;
  const c = url.charCodeAt(index);
  return c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */;
}

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
