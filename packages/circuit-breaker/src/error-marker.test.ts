import { describe, expect, it } from 'vitest';
import { errorMarker } from './error-marker.js';

// Keys of this test only: Symbol.for's registry is process-wide.
const KEY_A = 'phlow.test.error-marker.a-error';
const KEY_B = 'phlow.test.error-marker.b-error';

const markerA = errorMarker(KEY_A);
class AError extends Error {
  static isInstance(value: unknown): value is AError {
    return markerA.isMarked(value);
  }
}
markerA.mark(AError, 'AError');

const markerB = errorMarker(KEY_B);
class BError extends Error {
  static isInstance(value: unknown): value is BError {
    return markerB.isMarked(value);
  }
}
markerB.mark(BError, 'BError');

describe('errorMarker', () => {
  it('recognises instances of its class and gives the class its name', () => {
    const error = new AError('boom');
    expect(AError.isInstance(error)).toBe(true);
    expect(error.name).toBe('AError');
    expect(String(error)).toBe('AError: boom');
  });

  it('two classes with different keys do not recognise each other', () => {
    expect(AError.isInstance(new BError())).toBe(false);
    expect(BError.isInstance(new AError())).toBe(false);
  });

  it('recognises a subclass (the marker sits on the prototype)', () => {
    class NarrowerError extends AError {}
    expect(AError.isInstance(new NarrowerError())).toBe(true);
    expect(BError.isInstance(new NarrowerError())).toBe(false);
  });

  it('recognises an error of a second copy of the module, where instanceof fails', () => {
    // What a second copy of the package does on load: its own class, marked with the same global symbol.
    class AErrorOfAnotherCopy extends Error {}
    Object.defineProperty(AErrorOfAnotherCopy.prototype, Symbol.for(KEY_A), { value: true });
    const foreign = new AErrorOfAnotherCopy();
    expect(foreign instanceof AError).toBe(false);
    expect(AError.isInstance(foreign)).toBe(true);
    // and the other way round: that copy's marker recognises our errors
    expect(errorMarker(KEY_A).isMarked(new AError())).toBe(true);
  });

  it('recognises a plain object carrying the marker (a structured copy of the error)', () => {
    expect(AError.isInstance({ [Symbol.for(KEY_A)]: true })).toBe(true);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'AError'],
    ['a plain Error', new Error('boom')],
    ['an error named like it', Object.assign(new Error(), { name: 'AError' })],
    ['a marker that is not true', { [Symbol.for(KEY_A)]: 'yes' }],
    ['a function', () => undefined],
    ['a Proxy whose every read throws', new Proxy({}, { get: () => { throw new Error('trap'); } })],
    ['a revoked Proxy', (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })()],
    ['an object whose marker getter throws', Object.defineProperty({}, Symbol.for(KEY_A), { get: () => { throw new Error('getter'); } })],
  ])('does not recognise %s (and never throws: it runs on whatever a call threw)', (_, value) => {
    expect(AError.isInstance(value)).toBe(false);
  });

  it('the marker is not enumerable: spreading or serialising an error does not carry it', () => {
    const error = new AError('boom');
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(AError.isInstance({ ...error })).toBe(false);
  });
});
