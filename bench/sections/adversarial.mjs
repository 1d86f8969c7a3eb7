// Section: adversarial inputs (issue 17, items 2 and 3). What a client can make the core do:
//   collision  50k keys that collide under unkeyed FNV-1a 32 vs 50k random keys of the same
//              shape, interleaved in rounds; the ratio colliding ÷ random per op (goal ≤ 2×)
//   storm      the compaction storm on a 64 MiB cache: latency of every PUT (goal: max < 1 ms,
//              p99.9 < 0.2 ms)
//   replay     the CloudPhysics block-I/O trace with its sizes, read-through, one segment at 25%
//              of the working set: time per request and compactions (skipped without the trace)
import { fileURLToPath } from 'node:url';
import { startMember } from '../lib/child.mjs';
import { roundRobin, ratio, medianOf, nsPerOp } from '../lib/round-robin.mjs';
import { tracesDir, tracePath } from '../lib/traces.mjs';
import { Report } from '../lib/report.mjs';
import { fmtMs, fmtNum, fmtPct, fmtBytes } from '../lib/stats.mjs';

const CHILD = fileURLToPath(new URL('./adversarial-child.mjs', import.meta.url));

export function config(quick) {
  return {
    collision: { stages: 16, keys: 50_000, valueBytes: 100, seed: 17, rounds: quick ? 5 : 7, warmup: 1, targetMs: quick ? 40 : 150 },
    storm: { maxBytes: 64 << 20, segments: 16, smallValue: 64, bigValue: 128, maxPuts: quick ? 5_000 : 50_000, timeBoxMs: quick ? 4_000 : 30_000, seed: 5 },
    replay: { trace: 'cloudphysics', fraction: 0.25, timeBoxMs: quick ? 5_000 : 90_000 },
  };
}

const OPS = [
  ['get-hit', 'get hit'],
  ['get-miss', 'get miss'],
  ['set-replace', 'set (replace)'],
];
const fmtX = (x) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(0) : x.toFixed(2)) + '×' : '—');
const cell = (r) => (r.n ? `${fmtX(r.median)} (${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)})` : 'n/a');
const fmtNs = (ns) => (ns >= 1e6 ? fmtMs(ns / 1e6) : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  const targets = [];
  const summary = [];
  const data = { config: cfg };
  const timeoutMs = ctx.quick ? 300_000 : 1_200_000;
  report.heading('adversarial — inputs chosen against the core');

  // 1. collision: two members, the same cache configuration, different key sets
  const members = [];
  const setups = {};
  try {
    for (const keyset of ['random', 'colliding']) {
      const m = startMember(CHILD, cfg, { onProgress: (t) => ctx.progress(`collision ${t}`), timeoutMs });
      members.push({ id: keyset, call: m.call, close: m.close });
      await m.call('hello');
      setups[keyset] = await m.call('setup', { keyset });
    }
    const rows = [];
    data.collision = { setups, ops: {} };
    for (const [op, label] of OPS) {
      const rr = await roundRobin(members, { scenario: op, rounds: cfg.collision.rounds, warmup: cfg.collision.warmup, onProgress: (t) => ctx.progress(`collision ${t}`) });
      data.collision.ops[op] = rr;
      for (const [id, e] of Object.entries(rr.errors)) report.note(`collision ${op}, ${id} keys: ${e}`);
      const r = ratio(rr.rounds, 'colliding', 'random', { cost: true });
      rows.push([label, fmtNs(medianOf(rr.rounds, 'random', nsPerOp)), fmtNs(medianOf(rr.rounds, 'colliding', nsPerOp)), cell(r), r.n]);
      summary.push([`${label}, 50k keys colliding under FNV-1a vs random (cost ratio)`, fmtX(r.median), r.n ? `${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)}` : '', r.n, '≤ 2×', r.median <= 2 ? 'reached' : 'not reached']);
      targets.push({ section: 'adversarial', goal: `${label} with 50k FNV-colliding keys costs ≤ 2× random keys`, value: `${cell(r)} over ${r.n} rounds (${fmtNs(medianOf(rr.rounds, 'colliding', nsPerOp))} vs ${fmtNs(medianOf(rr.rounds, 'random', nsPerOp))} per op)`, reached: r.n ? r.median <= 2 : null });
    }
    const c = setups.colliding;
    report.para(
      `${cfg.collision.keys.toLocaleString('en-US')} keys of ${c.keyBytes} URL-safe bytes, all with FNV-1a 32 = 0x${c.hash.toString(16).padStart(8, '0')} ` +
        `(a Joux multicollision: ${cfg.collision.stages} stages of colliding 4-byte blocks, checked key by key), against ${cfg.collision.keys.toLocaleString('en-US')} random keys of the same length ` +
        `(${setups.random.distinctHashes.toLocaleString('en-US')} distinct hashes). Each set in its own process and cache (one segment, ${fmtBytes(c.maxBytes)}, room for every key twice over, nothing evicted); ` +
        `misses use the ${(2 ** cfg.collision.stages - cfg.collision.keys).toLocaleString('en-US')} generated keys left out. Rounds interleave the two sets; each run lasts about ${cfg.collision.targetMs} ms ` +
        `(operation count calibrated per set on the warm-up round); the ratio is the colliding set's time per operation ÷ the random set's in the same round. ` +
        `Inserting the colliding set took ${fmtMs(c.fillMs)} (random: ${fmtMs(setups.random.fillMs)}).`,
    );
    report.table('collision: time per operation, colliding ÷ random (median, min–max of per-round ratios)', ['operation', 'random keys', 'colliding keys', 'colliding ÷ random', 'rounds'], rows);
  } catch (e) {
    report.note(`collision rows failed: ${e.message.split('\n')[0]}`);
    data.collision = { error: e.message };
  } finally {
    for (const m of members) m.close();
  }

  // 2. storm and 3. replay: one child each, latency of every call
  const one = async (name, cmd, args) => {
    const m = startMember(CHILD, cfg, { onProgress: (t) => ctx.progress(t), timeoutMs });
    try {
      await m.call('hello');
      return await m.call(cmd, args);
    } catch (e) {
      report.note(`${name} failed: ${e.message.split('\n')[0]}`);
      return null;
    } finally {
      m.close();
    }
  };
  const s = await one('compaction storm', 'storm', cfg.storm);
  data.storm = s;
  if (s) {
    report.table(
      `compaction storm: ${fmtBytes(cfg.storm.maxBytes)}, ${cfg.storm.segments} segments, filled with ${s.entries.toLocaleString('en-US')} entries of ${cfg.storm.smallValue} B, read shuffled, then PUTs of ${cfg.storm.bigValue} B under new keys`,
      ['PUTs timed', 'p50', 'p99', 'p99.9', 'max', 'mean', 'compactions', 'wall time'],
      [[`${s.puts.toLocaleString('en-US')}${s.puts < cfg.storm.maxPuts ? ` (time box ${cfg.storm.timeBoxMs / 1000} s)` : ''}`, fmtMs(s.p50Ms), fmtMs(s.p99Ms), fmtMs(s.p999Ms), fmtMs(s.maxMs), fmtMs(s.meanMs), s.compactions ?? 'n/a', fmtMs(s.wallMs)]],
    );
    report.para('Every PUT is timed alone with process.hrtime.bigint(); compactions from stats() (n/a if the core does not count them).');
    targets.push({ section: 'adversarial', goal: 'compaction storm on 64 MiB: slowest PUT < 1 ms and p99.9 < 0.2 ms', value: `max ${fmtMs(s.maxMs)}, p99.9 ${fmtMs(s.p999Ms)}, p99 ${fmtMs(s.p99Ms)}, p50 ${fmtMs(s.p50Ms)} over ${s.puts.toLocaleString('en-US')} PUTs; ${s.compactions ?? 'n/a'} compactions`, reached: s.maxMs < 1 && s.p999Ms < 0.2 });
    summary.push([`compaction storm, 64 MiB: slowest PUT / p99.9 (${s.puts.toLocaleString('en-US')} PUTs)`, `${fmtMs(s.maxMs)} / ${fmtMs(s.p999Ms)}`, '', 1, '< 1 ms / < 0.2 ms', s.maxMs < 1 && s.p999Ms < 0.2 ? 'reached' : 'not reached']);
  }

  const file = tracePath(cfg.replay.trace);
  if (!file) {
    report.note(`trace replay skipped: ${cfg.replay.trace}.act.gz ${tracesDir().reason ?? 'not in ' + tracesDir().dir}`);
    data.replay = { status: 'skipped' };
  } else {
    const r = await one('trace replay', 'replay', { file, fraction: cfg.replay.fraction, timeBoxMs: cfg.replay.timeBoxMs });
    data.replay = r;
    if (r) {
      const partial = r.done < r.requests ? ` (time box ${cfg.replay.timeBoxMs / 1000} s: ${fmtPct(r.done / r.requests, 0)} of the trace)` : '';
      report.table(
        `trace replay: ${cfg.replay.trace}, read-through with its object sizes, one segment of ${fmtBytes(r.maxBytes)} = ${cfg.replay.fraction * 100}% of the ${fmtBytes(r.workingSet)} working set`,
        ['requests', 'time per request (mean)', 'p99', 'max', 'compactions', 'hit ratio', 'wall time'],
        [[`${r.done.toLocaleString('en-US')} of ${r.requests.toLocaleString('en-US')}${partial}`, fmtMs(r.meanMs), fmtMs(r.p99Ms), fmtMs(r.maxMs), r.compactions ?? 'n/a', fmtPct(r.hitRatio), fmtMs(r.wallMs)]],
      );
      summary.push([`block-I/O trace replay, sized values: time per request (${r.done.toLocaleString('en-US')} of ${r.requests.toLocaleString('en-US')} requests, ${fmtNum(r.compactions ?? NaN, 0)} compactions)`, fmtMs(r.meanMs), '', 1, '', 'reported']);
    }
  }
  return { status: data.collision?.error ? 'partial' : 'ok', data, report, targets, summary: { title: 'Adversarial inputs on ArenaCache (issue 17, items 2 and 3)', headers: ['row', 'figure', 'min–max', 'rounds', 'goal', 'status'], rows: summary } };
}
