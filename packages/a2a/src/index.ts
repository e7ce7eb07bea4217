export { protectA2aClient, a2aProtectionOf } from './protect-a2a-client.js';
export type { A2aProtection } from './protect-a2a-client.js';
export { createA2aClient } from './create-a2a-client.js';
export type { CreateA2aClientOptions } from './create-a2a-client.js';
export { A2A_BREAKER_DEFAULTS, DEFAULT_A2A_FAMILY } from './a2a-protection-options.js';
export type { ProtectA2aClientOptions } from './a2a-protection-options.js';
export {
  CALLER_ERROR_REASONS,
  JSON_RPC_ERROR_VERDICTS,
  classifyA2aError,
  classifyHttpStatus,
  classifyJsonRpcCode,
  isA2aPeerFailure,
  jsonRpcErrorCode,
} from './classify-a2a-error.js';
export type { A2aErrorVerdict } from './classify-a2a-error.js';
export { A2aStreamIdleTimeoutError } from './errors.js';
export { A2A_METHODS } from './a2a-methods.js';
export type { A2aClientMethod, A2aMethodSpec } from './a2a-methods.js';
export {
  AGENT_CARD_OPERATION,
  ATTR_COUNTED_AS_FAILURE,
  ATTR_PEER,
  ATTR_PROTOCOL_BINDING,
  ATTR_RPC_JSONRPC_ERROR_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_STREAM_EVENTS,
  ATTR_TASK_ID,
  INSTRUMENTATION_SCOPE,
  SPAN_NAME_PREFIX,
} from './telemetry-names.js';
export { messageText, textMessageRequest } from './text-message.js';
export type { TextMessageOptions } from './text-message.js';
// The address policy (shared with @phlow/did-resolver) lives in @phlow/address-policy.
export { AddressNotAllowedError, createGuardedFetch } from '@phlow/address-policy';
export type { AllowPrivateAddresses, GuardedFetch } from '@phlow/address-policy';
export { VERSION } from './version.js';
