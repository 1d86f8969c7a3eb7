// The interleaved driver: one scenario, run in rounds over long-lived members (one process each).
//
// Round r runs the scenario once on every member, one after the other, and only then does round
// r+1 start. Two members measured in the same round are seconds apart, so they share the
// machine's state (other tenants, CPU frequency, page cache); two rounds may not. A ratio is
// therefore taken within a round, never across rounds, and the figure reported is the median of
// the per-round ratios with their min–max. The order inside a round rotates by one member per
// round, so no member is always first (or always right after the same neighbour).
import { median } from './stats.mjs';

/**
 * members: [{ id, call(cmd, args) }]; each `call('run', { scenario, round })` must resolve to
 * `{ ops, ms, ... }` measured inside the member. Returns `{ rounds: [{ [id]: result }], errors }`
 * for the timed rounds (the first `warmup` rounds are run and dropped: JIT and caches).
 */
export async function roundRobin(members, { scenario, rounds, warmup = 1, onProgress }) {
  const out = [];
  const errors = {};
  const total = warmup + rounds;
  for (let r = 0; r < total; r++) {
    const row = {};
    for (let j = 0; j < members.length; j++) {
      const m = members[(r + j) % members.length];
      if (errors[m.id]) continue; // a member that failed once is out of this scenario
      onProgress?.(`${scenario} ${r < warmup ? 'warm-up' : `round ${r - warmup + 1}/${rounds}`}: ${m.id}`);
      try {
        row[m.id] = await m.call('run', { scenario, round: r });
      } catch (e) {
        errors[m.id] = e.message.split('\n')[0];
      }
    }
    if (r >= warmup) out.push(row);
  }
  return { rounds: out, errors };
}

/** Cost of one operation in ns (ms per op × 1e6). */
export const nsPerOp = (x) => (x.ms / x.ops) * 1e6;

/**
 * Per-round ratios of `id` against `ref`, as speed (ref's cost ÷ id's cost: > 1 means faster),
 * or with `{ cost: true }` as cost (id's cost ÷ ref's: > 1 means slower). Only rounds where both
 * members produced a figure count. Returns { median, min, max, n, values }.
 */
export function ratio(rounds, id, ref, { cost = false, metric = nsPerOp } = {}) {
  const values = [];
  for (const row of rounds) {
    if (!row[id] || !row[ref]) continue;
    const a = metric(row[id]);
    const b = metric(row[ref]);
    if (!(a > 0 && b > 0)) continue;
    values.push(cost ? a / b : b / a);
  }
  return { median: median(values), min: values.length ? Math.min(...values) : NaN, max: values.length ? Math.max(...values) : NaN, n: values.length, values };
}

/** Median over the timed rounds of one member's figure (e.g. ops/s), for absolute context. */
export function medianOf(rounds, id, f) {
  return median(rounds.filter((row) => row[id]).map((row) => f(row[id])));
}
