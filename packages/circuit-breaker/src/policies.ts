import { ConsecutiveFailures } from './consecutive-failures.js';
import { CountWindow } from './count-window.js';
import type { FailurePolicy, FailurePolicySpec } from './failure-policy.js';
import { TimeWindow } from './time-window.js';

/** A fresh policy for one breaker from a (validated) spec. */
export function createPolicy(spec: FailurePolicySpec): FailurePolicy {
  switch (spec.type) {
    case 'consecutive':
      return new ConsecutiveFailures(spec.threshold);
    case 'count-window':
      return new CountWindow(spec);
    case 'time-window':
      return new TimeWindow(spec);
  }
}
