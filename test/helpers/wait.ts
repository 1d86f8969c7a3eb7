/** Polling helpers for tests: bounded waits that fail loudly (correctness bounds, not benchmarks). */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Poll `cond` every 20 ms until it is true; throw (with `what` and the last `detail()`) if it is
 * not true within `timeoutMs`. Returns the elapsed ms.
 */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail?: () => unknown,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) {
      const d = detail ? `\nlast state: ${JSON.stringify(await detail())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${d}`);
    }
    await sleep(20);
  }
}

/** `p`, or a rejection naming `what` if it has not settled within `timeoutMs` (a bound, not a benchmark). */
export async function within<T>(what: string, p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}
