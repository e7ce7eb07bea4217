/**
 * Recognising our errors across two copies of a package in one install, where `instanceof` fails: each
 * class carries a `Symbol.for` marker on its prototype (one registry of symbols per process), and its
 * static `isInstance` looks for it. One helper so every class of every package does it the same way.
 */
export interface ErrorMarker {
  /** Marks `errorClass` (and so its subclasses) and gives it the `name` it prints. */
  mark(errorClass: abstract new (...args: never[]) => Error, name: string): void;
  /** Whether `value` is an instance of the marked class, from any copy of the package. */
  isMarked(value: unknown): boolean;
}

/** The marker called `key` (e.g. `'phlow.a2a.stream-idle-timeout-error'`): keys are global, keep them unique. */
export function errorMarker(key: string): ErrorMarker {
  const symbol = Symbol.for(key);
  return {
    mark(errorClass, name) {
      Object.defineProperty(errorClass.prototype, symbol, { value: true });
      errorClass.prototype.name = name;
    },
    isMarked(value) {
      if (typeof value !== 'object' || value === null) return false;
      // It runs on whatever a call threw, a Proxy or an object with a throwing getter included: a
      // classifier that threw on it would replace the caller's error with its own.
      try {
        return (value as Record<symbol, unknown>)[symbol] === true;
      } catch {
        return false;
      }
    },
  };
}
