/**
 * The span name parts and attributes of this package. The standard ones (`server.address`,
 * `server.port`, `error.type`) come from `@opentelemetry/semantic-conventions`; the README's telemetry
 * table lists every attribute, standard or ours.
 */

/** Instrumentation scope (tracer name). */
export const INSTRUMENTATION_SCOPE = '@phlow/a2a';

/** Span names are `a2a {rpc.method}`, e.g. `a2a SendMessage`; the agent card fetch is `a2a GetAgentCard`. */
export const SPAN_NAME_PREFIX = 'a2a';
/** Span name part for the agent card download of {@link createA2aClient}. */
export const AGENT_CARD_OPERATION = 'GetAgentCard';

// The rpc.* names are incubating in semantic-conventions: copied, as OTel recommends, not imported from
// /incubating (whose names may change in any minor release).

/** OTel RPC conventions: `jsonrpc` or `grpc` (absent for the HTTP+JSON binding, which is not RPC). */
export const ATTR_RPC_SYSTEM = 'rpc.system';
/** OTel RPC conventions: the A2A method, e.g. `SendMessage`. */
export const ATTR_RPC_METHOD = 'rpc.method';
/** OTel JSON-RPC conventions: the `error.code` of a JSON-RPC error answer. */
export const ATTR_RPC_JSONRPC_ERROR_CODE = 'rpc.jsonrpc.error_code';
/** The peer's key: its breaker is `{name}/{peer}`. */
export const ATTR_PEER = 'phlow.a2a.peer';
/** The task the call names or returned. */
export const ATTR_TASK_ID = 'phlow.a2a.task.id';
/** The transport the client chose: `JSONRPC`, `HTTP+JSON` or `GRPC`. */
export const ATTR_PROTOCOL_BINDING = 'phlow.a2a.protocol_binding';
/** On an error: whether the peer's breaker counted it as a failure (false for the caller's own mistakes). */
export const ATTR_COUNTED_AS_FAILURE = 'phlow.a2a.counted_as_failure';
/** On a stream span: events received. */
export const ATTR_STREAM_EVENTS = 'phlow.a2a.stream.events';
