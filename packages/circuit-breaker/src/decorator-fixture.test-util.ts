import type { CircuitBreakerRegistry } from './registry.js';

/** The shape of the compiled decorator fixture in decorator.test.ts. */
export declare const registry: CircuitBreakerRegistry;
export declare class Agent {
  calls: number;
  queryDatabase(query: string): Promise<string>;
}
