/**
 * Option checks that name the option, the value and what is allowed, and never clamp silently
 * (STYLE rule 4). Shared by every package of ours that validates options.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

/** An integer in [min, max]. */
export function checkInteger(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new RangeError(`${option} must be ${range}; got ${show(value)}`);
  }
  return value;
}

/** A finite number in [min, max] (or (min, max] when `exclusiveMin`). */
export function checkNumber(
  option: string,
  value: unknown,
  min: number,
  max: number,
  exclusiveMin = false,
): number {
  const tooLow = typeof value === 'number' && (exclusiveMin ? value <= min : value < min);
  if (typeof value !== 'number' || !Number.isFinite(value) || tooLow || value > max) {
    const lower = exclusiveMin ? `> ${min}` : `>= ${min}`;
    const range = max === Infinity ? `a finite number ${lower}` : `a number ${lower} and <= ${max}`;
    throw new RangeError(`${option} must be ${range}; got ${show(value)}`);
  }
  return value;
}

/** A duration in milliseconds: finite, >= min (0 unless stated), at most ~24.8 days (setTimeout's limit). */
export function checkDurationMs(option: string, value: unknown, min = 0): number {
  return checkNumber(option, value, min, 2_147_483_647);
}

export function checkFunction<T>(option: string, value: unknown): T {
  if (typeof value !== 'function') {
    throw new TypeError(`${option} must be a function; got ${show(value)}`);
  }
  return value as T;
}

export function checkOneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new RangeError(`${option} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${show(value)}`);
  }
  return value as T;
}

/** Rejects option names the caller misspelled: an unknown option is a bug, not something to ignore. */
export function checkKnownKeys(what: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)}; allowed: ${known.join(', ')}`);
    }
  }
}

export { show as describeValue };
