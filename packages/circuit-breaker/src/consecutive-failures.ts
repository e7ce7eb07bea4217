import type { FailurePolicy } from './failure-policy.js';

/** Opens after `threshold` failures in a row; any success starts the count again. */
export class ConsecutiveFailures implements FailurePolicy {
  readonly needsTime = false;
  private failures = 0;

  constructor(readonly threshold: number) {}

  recordSuccess(): boolean {
    this.failures = 0;
    return false;
  }

  recordFailure(): boolean {
    return ++this.failures >= this.threshold;
  }

  reset(): void {
    this.failures = 0;
  }

  failureCount(): number {
    return this.failures;
  }
}
