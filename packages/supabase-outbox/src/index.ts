export { SupabaseOutbox } from './supabase-outbox.js';
export type { OutboxReceipt, OutboxStats, UpsertOptions, WriteOptions } from './supabase-outbox.js';
export type { SupabaseOutboxOptions } from './outbox-options.js';
export type { DeadLetter, WriteOperation } from './outbox-store.js';
export { OutboxClosedError, OutboxError, OutboxFullError, UnstorableRowError } from './outbox-errors.js';
export { classifyWriteFailure } from './write-outcome.js';
export type { FailureKind, WriteFailure } from './write-outcome.js';
export { checkStorable } from './storable-row.js';
