// One closed-loop driver for every "N callers in flight" measurement (cluster peer fetches and
// Redis GETs), so both sides are timed by exactly the same code.
import { percentile } from './stats.mjs';

const now = () => performance.now();

/**
 * `inflight` callers each loop `op(key)` over `keys` until `durationMs` has passed. `op` resolves
 * to a value, or to null/undefined for a miss (counted as an error: every key is expected).
 * `cpuUs`: this process's CPU time (user + system) while the callers ran, not the statistics after.
 */
export async function closedLoop(keys, inflight, durationMs, op) {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let errors = 0;
  let next = 0;
  let firstError = null;
  const t0 = now();
  const end = t0 + durationMs;
  const caller = async () => {
    while (now() < end) {
      const k = keys[next++ % keys.length];
      const t = now();
      try {
        const v = await op(k);
        if (v === undefined || v === null) errors++;
      } catch (e) {
        errors++;
        firstError ??= e.message;
      }
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = now() - t;
    }
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: inflight }, caller));
  const cpu = process.cpuUsage(cpu0);
  const ms = now() - t0;
  const l = lat.subarray(0, n);
  return { ops: n, ms, opsPerSec: (n / ms) * 1000, p50Ms: percentile(l, 50), p99Ms: percentile(l, 99), errors, firstError, cpuUs: cpu.user + cpu.system };
}
