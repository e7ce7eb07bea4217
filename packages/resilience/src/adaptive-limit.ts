import { CircuitTimeoutError } from '@phlow/circuit-breaker';
import { checkDurationMs, checkInteger, checkNumber, checkOneOf } from '@phlow/circuit-breaker/internal';
import { TimeoutError } from './errors.js';
import { checkOptionsObject } from './policy-options.js';

/** Options of {@link adaptiveLimit}. */
export interface AdaptiveLimitOptions {
  /**
   * `'gradient'` (default): the limit follows the ratio of the no-load latency to the latency now
   * (Netflix concurrency-limits' gradient): it shrinks as queueing makes calls slower and grows back
   * when they speed up. `'aimd'`: +1 per call while the limit is in use, × `backoffRatio` on a drop
   * (a timeout, or a call slower than `latencyThresholdMs`).
   */
  readonly algorithm?: 'gradient' | 'aimd' | undefined;
  /** Default 20. */
  readonly initialLimit?: number | undefined;
  /** Default 1. */
  readonly minLimit?: number | undefined;
  /** Default 200. */
  readonly maxLimit?: number | undefined;
  /** Gradient: how much slower than the no-load latency a call may be before the limit shrinks. Default 1.5. */
  readonly tolerance?: number | undefined;
  /** Gradient: weight of each new estimate, in (0, 1]. Default 0.2. */
  readonly smoothing?: number | undefined;
  /**
   * Gradient: every this-many calls the no-load latency moves a tenth of the way up towards the fastest
   * call of the period (it follows any faster call at once). So it follows a dependency that got slower
   * for good, slowly — a period spent queueing must not pass for the no-load latency. Default 1000.
   */
  readonly minRttWindow?: number | undefined;
  /** AIMD: the factor a drop multiplies the limit by, in [0.5, 1). Default 0.9. */
  readonly backoffRatio?: number | undefined;
  /** AIMD: a call slower than this counts as a drop (ms). Default: only timeouts are drops. */
  readonly latencyThresholdMs?: number | undefined;
}

/** A concurrency limit that moves with what it observes; pass it as a bulkhead's `maxConcurrent`. */
export class AdaptiveLimit {
  readonly algorithm: 'gradient' | 'aimd';
  readonly minLimit: number;
  readonly maxLimit: number;
  private estimate: number;
  private readonly tolerance: number;
  private readonly smoothing: number;
  private readonly minRttWindow: number;
  private readonly backoffRatio: number;
  private readonly latencyThresholdMs: number;
  private minRtt = Infinity;
  private windowMin = Infinity;
  private windowSamples = 0;
  private readonly listeners = new Set<(limit: number) => void>();

  constructor(options?: AdaptiveLimitOptions) {
    const o = checkOptionsObject<AdaptiveLimitOptions>('adaptiveLimit', options, [
      'algorithm', 'initialLimit', 'minLimit', 'maxLimit', 'tolerance', 'smoothing', 'minRttWindow', 'backoffRatio', 'latencyThresholdMs',
    ], false);
    this.algorithm = o.algorithm === undefined ? 'gradient' : checkOneOf('adaptiveLimit: algorithm', o.algorithm, ['gradient', 'aimd']);
    this.minLimit = o.minLimit === undefined ? 1 : checkInteger('adaptiveLimit: minLimit', o.minLimit, 1);
    this.maxLimit = o.maxLimit === undefined ? Math.max(200, this.minLimit) : checkInteger('adaptiveLimit: maxLimit', o.maxLimit, this.minLimit);
    const initial = o.initialLimit === undefined ? Math.min(Math.max(20, this.minLimit), this.maxLimit) : checkInteger('adaptiveLimit: initialLimit', o.initialLimit, this.minLimit, this.maxLimit);
    this.estimate = initial;
    this.tolerance = o.tolerance === undefined ? 1.5 : checkNumber('adaptiveLimit: tolerance', o.tolerance, 1, 100);
    this.smoothing = o.smoothing === undefined ? 0.2 : checkNumber('adaptiveLimit: smoothing', o.smoothing, 0, 1, true);
    this.minRttWindow = o.minRttWindow === undefined ? 1000 : checkInteger('adaptiveLimit: minRttWindow', o.minRttWindow, 1);
    this.backoffRatio = o.backoffRatio === undefined ? 0.9 : checkNumber('adaptiveLimit: backoffRatio', o.backoffRatio, 0.5, 1);
    if (this.backoffRatio === 1) throw new RangeError('adaptiveLimit: backoffRatio must be a number >= 0.5 and < 1; got 1');
    this.latencyThresholdMs = o.latencyThresholdMs === undefined ? Infinity : checkDurationMs('adaptiveLimit: latencyThresholdMs', o.latencyThresholdMs, 0);
  }

  /** Calls allowed to run at once now (an integer in [minLimit, maxLimit]). */
  get limit(): number {
    return Math.max(this.minLimit, Math.floor(this.estimate));
  }

  /** The no-load latency the gradient compares with (ms), or Infinity before the first sample. */
  get noLoadLatencyMs(): number {
    return this.minRtt;
  }

  /** Tells `listener` each time the limit changes; returns an unsubscribe function. A listener that throws is ignored. */
  onLimitChange(listener: (limit: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * One finished call: how long it took (ms), how many calls ran when it started (itself included),
   * and whether it was a drop (timed out). Bulkheads call it; call it yourself to drive a limit by hand.
   */
  sample(latencyMs: number, inFlight: number, dropped: boolean): void {
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) return;
    const before = this.limit;
    if (this.algorithm === 'aimd') this.aimd(latencyMs, inFlight, dropped);
    else this.gradient(latencyMs, inFlight, dropped);
    const after = this.limit;
    if (after !== before) {
      for (const listener of this.listeners) {
        try {
          listener(after);
        } catch {
          // A listener is telemetry (as the core's policy-event listeners): its bug must not fail the
          // call that sampled, nor keep that call's bulkhead slot.
        }
      }
    }
  }

  private aimd(latencyMs: number, inFlight: number, dropped: boolean): void {
    if (dropped || latencyMs > this.latencyThresholdMs) {
      this.estimate = Math.max(this.minLimit, this.estimate * this.backoffRatio);
    } else if (inFlight * 2 >= this.estimate) {
      // Grow only while the limit is what holds calls back, not while the caller is idle.
      this.estimate = Math.min(this.maxLimit, this.estimate + 1);
    }
  }

  private gradient(latencyMs: number, inFlight: number, dropped: boolean): void {
    this.windowMin = Math.min(this.windowMin, latencyMs);
    if (latencyMs < this.minRtt) this.minRtt = latencyMs;
    if (++this.windowSamples >= this.minRttWindow) {
      // Replacing the no-load latency with the period's fastest call would let a period spent queueing
      // (the fastest call already slow) raise it, and the limit with it, period after period.
      if (this.windowMin > this.minRtt) this.minRtt += (this.windowMin - this.minRtt) / 10;
      this.windowMin = Infinity;
      this.windowSamples = 0;
    }
    const noLoad = Math.max(this.minRtt, 0.001);
    let target: number;
    if (dropped) target = this.estimate / 2;
    else if (inFlight * 2 < this.estimate) return; // app-limited: the sample says nothing about the limit
    else {
      const gradient = Math.max(0.5, Math.min(1, (this.tolerance * noLoad) / Math.max(latencyMs, 0.001)));
      target = this.estimate * gradient + Math.sqrt(this.estimate);
    }
    const next = this.estimate * (1 - this.smoothing) + target * this.smoothing;
    this.estimate = Math.min(this.maxLimit, Math.max(this.minLimit, next));
  }
}

/** Whether a failed call is a drop for an adaptive limit: it timed out (ours or a breaker's timeout). */
export function isDrop(error: unknown): boolean {
  return TimeoutError.isInstance(error) || CircuitTimeoutError.isInstance(error);
}

/** An {@link AdaptiveLimit}. */
export function adaptiveLimit(options?: AdaptiveLimitOptions): AdaptiveLimit {
  return new AdaptiveLimit(options);
}
