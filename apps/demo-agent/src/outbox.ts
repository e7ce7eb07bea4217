/**
 * The exchanges the relay records in Supabase (`messages`), through @phlow/supabase-outbox: each one is
 * on disk (`PHLOW_OUTBOX_PATH`) before the agent answers, then written; while Supabase is down it waits
 * there and is replayed in order, once, when the Supabase breaker lets requests through again — also by
 * the next process after a crash. Rows written by a replay have `replayed = true`.
 */
import type { Meter } from '@opentelemetry/api';
import type { CircuitBreaker } from '@phlow/circuit-breaker';
import { checkStorable, OutboxError, OutboxFullError, SupabaseOutbox } from '@phlow/supabase-outbox';
import type { SupabaseClient } from '@supabase/supabase-js';

export interface MessageRow {
  peer_id: string;
  peer_url: string;
  request: string;
  reply: string;
  resolved_via: string;
  replayed: boolean;
}

/** What health and the dashboard show. */
export interface OutboxStats {
  /** Exchanges waiting on disk for Supabase. */
  readonly pending: number;
  readonly pending_bytes: number;
  /** Written by a replay (after the agent answered "outbox"), since start. */
  readonly replayed: number;
  /** Refused by the database for good, kept apart with the reason (health is degraded while any). */
  readonly dead_lettered: number;
  /** Refused before being queued (outbox full, unstorable text), since start. */
  readonly refused: number;
  /** In Supabase, since start (at once or replayed). */
  readonly stored: number;
  /** Replayed writes the database had already (an attempt before a crash landed): not written twice. */
  readonly duplicates: number;
  /** The caps: past either, exchanges are refused (HTTP 503). */
  readonly max_rows: number;
  readonly max_bytes: number;
  /** The delivery failure that keeps writes waiting, or null once a delivery succeeds. */
  readonly last_error: string | null;
  /** `unavailable`: Supabase is away (its breaker shows it); `attention`: it answers, but writes do not land. */
  readonly last_error_kind: 'unavailable' | 'attention' | null;
}

export interface MessageOutboxOptions {
  readonly path: string;
  /** The Supabase REST breaker (asked each time: an idle one is retired). */
  readonly breaker: () => CircuitBreaker | undefined;
  readonly meter?: Meter;
  /** Wait between replay attempts while Supabase is away. Default 1 000 ms. */
  readonly retryIntervalMs?: number;
  /** Most exchanges waiting (dead letters included). Default the outbox's (100 000). */
  readonly maxRows?: number;
}

export class MessageOutbox {
  readonly #outbox: SupabaseOutbox;
  /** Exchanges refused by refusal() before the peer was called (counted with the outbox's own refusals). */
  #refusedEarly = 0;

  constructor(supabase: SupabaseClient, { path, breaker, meter, retryIntervalMs = 1_000, maxRows }: MessageOutboxOptions) {
    this.#outbox = new SupabaseOutbox({
      supabase,
      path,
      name: 'messages',
      replayedColumn: 'replayed',
      breaker,
      retryIntervalMs,
      // Supabase's breaker bounds each request already (PHLOW_SUPABASE_TIMEOUT_MS).
      requestTimeoutMs: 0,
      ...(meter === undefined ? {} : { meter }),
      ...(maxRows === undefined ? {} : { maxRows }),
    });
  }

  get stats(): OutboxStats {
    const s = this.#outbox.stats;
    return {
      pending: s.pending,
      pending_bytes: s.pendingBytes,
      replayed: s.replayed,
      dead_lettered: s.deadLetters,
      refused: s.refused + this.#refusedEarly,
      stored: s.delivered,
      duplicates: s.duplicates,
      max_rows: s.maxRows,
      max_bytes: s.maxBytes,
      last_error: s.lastError,
      last_error_kind: s.lastErrorKind,
    };
  }

  /**
   * Records an exchange of a conversation: `stored` once it is in Supabase, `outbox` once it is on disk
   * waiting. Rejects with the outbox's error (full, unstorable text) when it was not accepted.
   */
  async record(row: MessageRow, conversation: string): Promise<'stored' | 'outbox'> {
    const receipt = await this.#outbox.insert('messages', { ...row, conversation_id: conversation }, { conversation });
    return receipt.state === 'queued' ? 'outbox' : 'stored';
  }

  /**
   * Why an exchange could not be recorded, asked before the peer is called, so that one the agent must
   * refuse never reaches the peer unrecorded: request text or a conversation PostgreSQL cannot store,
   * or an outbox full in rows. Undefined when it can be tried; `record()` still has the last word.
   */
  refusal(request: string, conversation: string | undefined): OutboxError | undefined {
    try {
      checkStorable(request, 'request');
      if (conversation !== undefined) checkStorable(conversation, 'conversation');
    } catch (error) {
      if (!OutboxError.isInstance(error)) throw error;
      this.#refusedEarly++;
      return error;
    }
    const s = this.#outbox.stats;
    if (s.pending + s.deadLetters >= s.maxRows) {
      this.#refusedEarly++;
      return new OutboxFullError('rows', `outbox messages is full: ${s.pending} writes wait and ${s.deadLetters} dead letters are kept (maxRows ${s.maxRows}); refused before the peer was called, nothing was dropped`);
    }
    return undefined;
  }

  /** Commits what was accepted and closes the file; a replay in flight gets `timeoutMs` to finish. */
  close(timeoutMs?: number): Promise<void> {
    return this.#outbox.close(timeoutMs === undefined ? {} : { timeoutMs });
  }
}

/** NUL, and surrogates not part of a pair (String.prototype.toWellFormed is ES2024, past this app's lib). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A peer's reply as the agent records it. The exchange has happened by then, so the reply is kept as
 * faithfully as PostgreSQL can store it, rather than the record refused: at most `max` UTF-16 units, cut
 * on a code point (a cut inside a surrogate pair leaves half of it, which PostgreSQL refuses), and NUL
 * characters and lone surrogates (a stranger's peer may send them) replaced with U+FFFD. `notes` says
 * what was changed, for the relay's answer.
 */
export function storableReply(reply: string, max: number): { readonly text: string; readonly notes: string[] } {
  const notes: string[] = [];
  let text = reply;
  if (text.length > max) {
    notes.push(`the peer's reply was ${text.length} characters: kept the first ${max}`);
    const last = text.charCodeAt(max - 1);
    // A high surrogate last: its low half is past the cut; leave the pair out whole.
    text = text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
  }
  const clean = text.replace(UNSTORABLE, '\ufffd');
  if (clean !== text) {
    notes.push("the peer's reply held text PostgreSQL cannot store (NUL, lone surrogates): replaced with U+FFFD");
    text = clean;
  }
  return { text, notes };
}
