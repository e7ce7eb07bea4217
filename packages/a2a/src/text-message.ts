import { randomUUID } from 'node:crypto';
import { Role, type Message, type SendMessageRequest } from '@a2a-js/sdk';

/** Where a text message belongs: an existing task and/or conversation. */
export interface TextMessageOptions {
  readonly taskId?: string;
  readonly contextId?: string;
}

/**
 * A `SendMessageRequest` carrying one user text part — the A2A 1.0 shape spelled out in full, which the
 * SDK's generated types require field by field.
 *
 * @example
 * await client.sendMessage(textMessageRequest('hello'));
 */
export function textMessageRequest(text: string, options: TextMessageOptions = {}): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId: randomUUID(),
      contextId: options.contextId ?? '',
      taskId: options.taskId ?? '',
      role: Role.ROLE_USER,
      parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

/** The text of the first text part of `message` ('' when there is none). */
export function messageText(message: Message | undefined): string {
  for (const part of message?.parts ?? []) if (part.content?.$case === 'text') return part.content.value;
  return '';
}
