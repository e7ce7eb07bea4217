import { CircuitBreaker, ManualClock, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import type { Scenario } from './scenarios.js';
import { TrafficRecorder } from './traffic-recorder.js';
import { OUTCOME_CODE } from './traffic.js';

/**
 * Plays a generated scenario through a real breaker (the "production" one, with `options`) on a
 * manual clock, recorded by a real {@link TrafficRecorder} into `dir`: a recording with the refusals a
 * real one has. Failures are thrown errors, as in an app.
 */
export async function recordScenario(scenario: Scenario, dir: string, options: CircuitBreakerOptions = {}): Promise<void> {
  const { start, duration, outcome } = scenario.traffic;
  const clock = new ManualClock(start[0] ?? 0);
  const breaker = new CircuitBreaker(scenario.traffic.name, { ...options, clock, timeoutMs: 0, logger: false });
  const recorder = new TrafficRecorder({ dir, memoryCalls: 0 });
  recorder.attach(breaker);
  for (let i = 0; i < start.length; i++) {
    if (start[i]! > clock.now()) clock.advance(start[i]! - clock.now());
    const d = duration[i]!;
    const failed = outcome[i] !== OUTCOME_CODE.success;
    await breaker
      .execute(() => {
        clock.jump(d);
        if (failed) throw new Error('503 Service Unavailable');
        return 'ok';
      })
      .then(
        () => clock.jump(-d),
        (error: Error) => {
          if (error.name !== 'CircuitOpenError') clock.jump(-d);
        },
      );
  }
  await recorder.close();
}
