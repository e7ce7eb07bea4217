/** How long {@link waitFor} polls, and how often. */
export interface WaitForOptions {
  /** Give up after this long (ms): a bound on a hung test, never a timing assertion. Default 15 000. */
  readonly timeoutMs?: number;
  /** Poll this often (ms). Default 10. */
  readonly everyMs?: number;
}

/**
 * Polls `probe` until it answers something other than `false` or `undefined`, and returns that answer;
 * rejects naming `what` after `timeoutMs`. `probe` may be async (a scrape, a query).
 *
 * @example
 * await waitFor('the breaker to open', () => breaker.state === 'open');
 * const body = await waitFor('a scrape with the series', async () => ((await scrape()).includes(series) ? body : undefined));
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | false | undefined | Promise<T | false | undefined>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const everyMs = options.everyMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== false && answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a value');
}
