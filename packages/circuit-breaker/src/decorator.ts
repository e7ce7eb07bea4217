import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitBreakerOptions } from './options.js';
import { getCircuitBreakerRegistry, type CircuitBreakerRegistry } from './registry.js';

type AnyMethod = (this: unknown, ...args: never[]) => unknown;

/**
 * Protects a method with the breaker `name` from the registry — the guide's
 * `@circuit_breaker("name", ...)`. Works with standard (TC39) decorators and with
 * `experimentalDecorators`. All instances share the one named breaker, as in the guide.
 *
 * @example
 * class Agent {
 *   @circuitBreaker('database', { failureThreshold: 3, recoveryTimeoutMs: 60_000, timeoutMs: 10_000 })
 *   async queryDatabase(sql: string) { return pool.query(sql); }
 * }
 */
export function circuitBreaker(
  name: string,
  options?: CircuitBreakerOptions,
  registry: CircuitBreakerRegistry = getCircuitBreakerRegistry(),
) {
  // Created at decoration time, so a bad option fails when the class is defined, not on first call.
  const breaker = registry.getBreaker(name, options);
  function decorate<M extends AnyMethod>(method: M, context: ClassMethodDecoratorContext): M;
  function decorate(target: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
  function decorate(
    methodOrTarget: unknown,
    contextOrKey: unknown,
    descriptor?: PropertyDescriptor,
  ): AnyMethod | PropertyDescriptor {
    if (descriptor !== undefined) {
      return { ...descriptor, value: protect(breaker, descriptor.value as AnyMethod) };
    }
    const context = contextOrKey as ClassMethodDecoratorContext;
    if (typeof context !== 'object' || context === null || context.kind !== 'method') {
      throw new TypeError(`@circuitBreaker(${JSON.stringify(name)}) can only decorate methods`);
    }
    return protect(breaker, methodOrTarget as AnyMethod);
  }
  return decorate;
}

function protect(breaker: CircuitBreaker, method: AnyMethod): AnyMethod {
  if (typeof method !== 'function') {
    throw new TypeError(`@circuitBreaker(${JSON.stringify(breaker.name)}) can only decorate methods`);
  }
  return breaker.wrap(method as (...args: unknown[]) => unknown) as AnyMethod;
}
