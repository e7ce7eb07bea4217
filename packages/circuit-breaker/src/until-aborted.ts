/**
 * `result`, or the signal's reason the moment it aborts: work that ignores its signal must not hold
 * the caller. Its late outcome is dropped, never an unhandled rejection. Without a signal, just
 * `result` as a promise (the same promise when it is one). Shared by the policies and fallbacks of
 * the `@phlow/*` packages.
 */
export function untilAborted<T>(result: T | PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  const promise = Promise.resolve(result);
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
