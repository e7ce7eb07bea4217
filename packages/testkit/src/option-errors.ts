/**
 * Builders for the errors that option validation throws. Every message names the component, the option,
 * the value it got and what is allowed, so a wrong test setup explains itself.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value of the right type but outside the allowed range. */
export function rangeError(component: string, option: string, value: unknown, allowed: string): RangeError {
  return new RangeError(`${component}: option "${option}" must be ${allowed}, got ${show(value)}`);
}

/** A value of the wrong type or shape. */
export function typeError(component: string, option: string, value: unknown, allowed: string): TypeError {
  return new TypeError(`${component}: option "${option}" must be ${allowed}, got ${show(value)}`);
}

/** Checks a TCP port option: an integer 0..65535, where 0 asks the OS for a free port. */
export function checkPort(component: string, option: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(component, option, value, 'an integer port number (0 for any free port)');
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw rangeError(component, option, value, 'an integer from 0 to 65535 (0 for any free port)');
  }
  return value;
}

/** Checks a finite, non-negative number such as a duration in milliseconds. */
export function checkNonNegative(component: string, option: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(component, option, value, 'a finite number >= 0');
  if (!Number.isFinite(value) || value < 0) throw rangeError(component, option, value, 'a finite number >= 0');
  return value;
}

/** Checks a host name or IP address string to listen on or connect to. */
export function checkHost(component: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw typeError(component, option, value, 'a non-empty host name or IP address such as "127.0.0.1"');
  }
  return value;
}
