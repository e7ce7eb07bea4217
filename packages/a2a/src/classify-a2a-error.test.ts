import { readFileSync } from 'node:fs';
import {
  A2AError,
  InvalidAgentResponseError,
  PushNotificationNotSupportedError,
  RestInvalidAgentResponseError,
  RestTaskNotFoundError,
  TaskNotFoundError,
  UnsupportedOperationError,
  fromJsonRpcErrorResponse,
  fromRestErrorBody,
} from '@a2a-js/sdk/errors';
import { AddressNotAllowedError } from '@phlow/address-policy';
import { CircuitOpenError, CircuitTimeoutError } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { classifyA2aError, classifyHttpStatus, classifyJsonRpcCode, isTransientA2aError, JSON_RPC_ERROR_VERDICTS } from './classify-a2a-error.js';
import { A2aStreamIdleTimeoutError } from './errors.js';
import { VERSION } from './version.js';

function jsonRpcError(code: number): unknown {
  return fromJsonRpcErrorResponse({ jsonrpc: '2.0', id: 1, error: { code, message: `code ${code}` } });
}

describe('classifyA2aError', () => {
  it('JSON-RPC errors from the real SDK, by code: the documented table', () => {
    const verdicts = Object.fromEntries(Object.keys(JSON_RPC_ERROR_VERDICTS).map((code) => [code, classifyA2aError(jsonRpcError(Number(code)))]));
    expect(verdicts).toEqual({
      '-32700': 'ignored',
      '-32600': 'ignored',
      '-32601': 'ignored',
      '-32602': 'ignored',
      '-32603': 'failure',
      '-32001': 'ignored',
      '-32002': 'ignored',
      '-32003': 'ignored',
      '-32004': 'ignored',
      '-32005': 'ignored',
      '-32006': 'failure',
      '-32007': 'ignored',
      '-32008': 'ignored',
      '-32009': 'ignored',
    });
  });

  it('unlisted codes: the server-error range -32099..-32000 fails, application codes are ignored', () => {
    expect(classifyA2aError(jsonRpcError(-32000))).toBe('failure');
    expect(classifyA2aError(jsonRpcError(-32099))).toBe('failure');
    expect(classifyA2aError(jsonRpcError(-32100))).toBe('ignored');
    expect(classifyA2aError(jsonRpcError(42))).toBe('ignored');
    expect(classifyJsonRpcCode(-32050)).toBe('failure');
  });

  it('a JSON-RPC error inside an SSE stream error (the SDK wraps it in `cause`)', () => {
    const wrapped = new Error('SSE event contained an error: x (Code: -32001)', { cause: jsonRpcError(-32001) });
    expect(classifyA2aError(wrapped)).toBe('ignored');
    expect(classifyA2aError(new Error('SSE event contained an error', { cause: jsonRpcError(-32603) }))).toBe('failure');
  });

  it('REST and client-side A2A errors by reason, unknown REST errors by status', () => {
    expect(classifyA2aError(new RestTaskNotFoundError())).toBe('ignored');
    expect(classifyA2aError(new RestInvalidAgentResponseError())).toBe('failure');
    expect(classifyA2aError(fromRestErrorBody({ message: 'boom', code: 500 }, { statusCode: 500 }))).toBe('failure');
    expect(classifyA2aError(fromRestErrorBody({ message: 'nope', code: 403 }, { statusCode: 403 }))).toBe('ignored');
    expect(classifyA2aError(new TaskNotFoundError())).toBe('ignored');
    expect(classifyA2aError(new UnsupportedOperationError())).toBe('ignored');
    expect(classifyA2aError(new PushNotificationNotSupportedError())).toBe('ignored');
    expect(classifyA2aError(new InvalidAgentResponseError())).toBe('failure');
    expect(classifyA2aError(new A2AError('Invalid SendMessageResponse: missing result'))).toBe('failure');
  });

  it('HTTP errors the SDK reports only in its message', () => {
    expect(classifyA2aError(new Error('HTTP error for SendMessage! Status: 503 Service Unavailable. Response: {}'))).toBe('failure');
    expect(classifyA2aError(new Error('HTTP error establishing stream for SendStreamingMessage: 500 Internal Server Error. Response: (empty)'))).toBe('failure');
    expect(classifyA2aError(new Error('HTTP error for GetTask! Status: 404 Not Found. Response: x'))).toBe('ignored');
    expect(classifyA2aError(new Error('HTTP error for GetTask! Status: 401 Unauthorized. Response: x'))).toBe('ignored');
    expect(classifyA2aError(new Error('HTTP error for GetTask! Status: 429 Too Many Requests. Response: x'))).toBe('failure');
    expect(classifyA2aError(new Error('Failed to fetch Agent Card from http://h/.well-known/agent-card.json: 404'))).toBe('ignored');
    expect(classifyA2aError(new Error('Failed to fetch Agent Card from http://h/.well-known/agent-card.json: 502'))).toBe('failure');
    expect([500, 502, 503, 504, 408, 429].map(classifyHttpStatus)).toEqual(Array(6).fill('failure'));
    expect([400, 401, 403, 404, 409, 415].map(classifyHttpStatus)).toEqual(Array(6).fill('ignored'));
  });

  it('an address the policy refused is ignored, bare or wrapped in fetch failed, so no expectedError loses it', () => {
    const refusal = new AddressNotAllowedError('metadata.internal', '169.254.169.254', 'link-local');
    expect(classifyA2aError(refusal)).toBe('ignored');
    expect(classifyA2aError(new TypeError('fetch failed', { cause: refusal }))).toBe('ignored');
    expect(classifyA2aError(new Error('Failed to fetch Agent Card', { cause: new TypeError('fetch failed', { cause: refusal }) }))).toBe('ignored');
  });

  it('transport errors and timeouts fail', () => {
    expect(classifyA2aError(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toBe('failure');
    expect(classifyA2aError(new CircuitTimeoutError('a2a/x', 20_000))).toBe('failure');
    expect(classifyA2aError(new A2aStreamIdleTimeoutError('a2a/x', 1000, 2))).toBe('failure');
    expect(classifyA2aError(new SyntaxError('Unexpected token < in JSON'))).toBe('failure');
    expect(classifyA2aError(new CircuitOpenError('a2a/x', 'open', null, { now: () => 0 }))).toBe('failure'); // never asked: the breaker rejects before classifying
  });
});

describe('isTransientA2aError', () => {
  const cutMidRequest = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  const neverSent = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

  it('a connection cut mid-request is worth a retry only for a method safe to repeat', () => {
    expect(isTransientA2aError(cutMidRequest, true)).toBe(true);
    expect(isTransientA2aError(cutMidRequest, false)).toBe(false);
  });

  it('a request that never left may always be repeated', () => {
    expect(isTransientA2aError(neverSent, false)).toBe(true);
  });

  it('refusals of ours and protocol answers are not transient', () => {
    expect(isTransientA2aError(new CircuitOpenError('a2a/alpha', 'open', 0, Date), true)).toBe(false);
    expect(isTransientA2aError(new TypeError('fetch failed', { cause: new AddressNotAllowedError('internal.example', '10.0.0.1', 'private') }), true)).toBe(false);
    expect(isTransientA2aError(new Error('HTTP error for SendMessage! Status: 404 Not Found. Response: x'), true)).toBe(false);
    expect(isTransientA2aError(new Error('HTTP error for SendMessage! Status: 503 Service Unavailable. Response: x'), false)).toBe(true);
  });
});

describe('VERSION', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
