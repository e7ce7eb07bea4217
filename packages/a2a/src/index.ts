export { protectA2aClient, a2aProtectionOf, breakerFor, type A2aProtection } from './protect-a2a-client.js';
export { createA2aClient, type CreateA2aClientOptions } from './create-a2a-client.js';
export { A2A_BREAKER_DEFAULTS, type ProtectA2aClientOptions } from './a2a-protection-options.js';
export { CALLER_ERROR_REASONS, JSON_RPC_ERROR_VERDICTS, classifyA2aError, classifyHttpStatus, classifyJsonRpcCode, isA2aPeerFailure, isTransientA2aError, jsonRpcErrorCode, type A2aErrorVerdict } from './classify-a2a-error.js';
export { A2aStreamIdleTimeoutError } from './errors.js';
export { A2A_METHODS, type A2aClientMethod, type A2aMethodSpec } from './a2a-methods.js';
// Our own span names and attributes only; the standard ones (server.*, error.type) are @opentelemetry/semantic-conventions'.
export { AGENT_CARD_OPERATION, ATTR_COUNTED_AS_FAILURE, ATTR_PEER, ATTR_PROTOCOL_BINDING, ATTR_STREAM_EVENTS, ATTR_TASK_ID, INSTRUMENTATION_SCOPE, SPAN_NAME_PREFIX } from './telemetry-names.js';
export { messageText, textMessageRequest, type TextMessageOptions } from './text-message.js';
// The address policy (shared with @phlow/did-resolver) lives in @phlow/address-policy.
export { AddressNotAllowedError, createGuardedFetch, type AllowPrivateAddresses, type GuardedFetch } from '@phlow/address-policy';
export { VERSION } from './version.js';
export { PeerFallback, peerFallback, PeersUnavailableError, type PeerAnswer, type PeerFallbackOptions, type PeerSkipped } from './peer-fallback.js';
