/** How a bad option value is shown in an error message (the core keeps its own copy unexported). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  const type = (value as { constructor?: { name?: string } }).constructor?.name;
  return type !== undefined && type !== 'Object' ? `a ${type}` : 'an object';
}

/** A boolean option. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${option} must be true or false; got ${describeValue(value)}`);
  return value;
}

/** `value`, or `fallback` when it was left out. Unlike `??`, a `null` stays and fails validation. */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}
