import type { Client } from '@a2a-js/sdk/client';

/** The client methods this package protects: every method of `Client` that talks to the peer. */
export type A2aClientMethod =
  | 'sendMessage'
  | 'sendMessageStream'
  | 'getTask'
  | 'cancelTask'
  | 'listTasks'
  | 'resubscribeTask'
  | 'createTaskPushNotificationConfig'
  | 'getTaskPushNotificationConfig'
  | 'listTaskPushNotificationConfig'
  | 'deleteTaskPushNotificationConfig'
  | 'getAgentCard';

/** How one client method is named on the wire and where its task id is. */
export interface A2aMethodSpec {
  /** The A2A 1.0 method name (JSON-RPC `method`, gRPC method): `rpc.method` and the span name. */
  readonly rpcMethod: string;
  /** True for methods returning an async generator of events. */
  readonly streaming: boolean;
  /**
   * True when sending the request twice has the effect of sending it once (reads, cancel, delete), so
   * a timed-out or cut-off call may be retried; `SendMessage` and creating a push config are not.
   */
  readonly idempotent: boolean;
  /** The task id the request names, if any. */
  readonly taskId: (params: unknown) => string | undefined;
}

function field(name: string): (params: unknown) => string | undefined {
  return (params) => {
    const value = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
}

const none = (): undefined => undefined;
const messageTaskId = (params: unknown): string | undefined =>
  field('taskId')(typeof params === 'object' && params !== null ? (params as { message?: unknown }).message : undefined);

/** Client method → A2A method, per the A2A 1.0 specification's method table. */
export const A2A_METHODS: Readonly<Record<A2aClientMethod, A2aMethodSpec>> = Object.freeze({
  sendMessage: { rpcMethod: 'SendMessage', idempotent: false, streaming: false, taskId: messageTaskId },
  sendMessageStream: { rpcMethod: 'SendStreamingMessage', idempotent: false, streaming: true, taskId: messageTaskId },
  getTask: { rpcMethod: 'GetTask', idempotent: true, streaming: false, taskId: field('id') },
  cancelTask: { rpcMethod: 'CancelTask', idempotent: true, streaming: false, taskId: field('id') },
  listTasks: { rpcMethod: 'ListTasks', idempotent: true, streaming: false, taskId: none },
  resubscribeTask: { rpcMethod: 'SubscribeToTask', idempotent: true, streaming: true, taskId: field('id') },
  createTaskPushNotificationConfig: { rpcMethod: 'CreateTaskPushNotificationConfig', idempotent: false, streaming: false, taskId: field('taskId') },
  getTaskPushNotificationConfig: { rpcMethod: 'GetTaskPushNotificationConfig', idempotent: true, streaming: false, taskId: field('taskId') },
  listTaskPushNotificationConfig: { rpcMethod: 'ListTaskPushNotificationConfigs', idempotent: true, streaming: false, taskId: field('taskId') },
  deleteTaskPushNotificationConfig: { rpcMethod: 'DeleteTaskPushNotificationConfig', idempotent: true, streaming: false, taskId: field('taskId') },
  getAgentCard: { rpcMethod: 'GetExtendedAgentCard', idempotent: true, streaming: false, taskId: none },
} satisfies Record<A2aClientMethod, A2aMethodSpec>);

/** @internal True when `name` is a method this package wraps. */
export function isProtectedMethod(name: PropertyKey): name is A2aClientMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(A2A_METHODS, name);
}

// Compile-time check that every wrapped name is a real `Client` method.
type _EveryMethodIsOnClient = A2aClientMethod extends keyof Client ? true : never;
const _everyMethodIsOnClient: _EveryMethodIsOnClient = true;
void _everyMethodIsOnClient;

/** The task id in a method's result (a `Task`, or a `Message` naming its task), if any. */
export function resultTaskId(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const value = result as { id?: unknown; taskId?: unknown; status?: unknown; messageId?: unknown };
  if ('status' in value && typeof value.id === 'string' && value.id !== '') return value.id;
  if ('messageId' in value && typeof value.taskId === 'string' && value.taskId !== '') return value.taskId;
  return undefined;
}
