// Section 2, threads: 1 and 2 workers on one shared arena vs a lru-cache per worker and one
// lru-cache on the main thread reached by postMessage. Each mode is a long-lived child process
// with two workers; the modes run interleaved in rounds (bench/lib/round-robin.mjs), and inside
// each mode's run one worker alone and both workers are timed back to back.
import { fileURLToPath } from 'node:url';
import { startMember } from '../lib/child.mjs';
import { roundRobin, ratio } from '../lib/round-robin.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtOps, fmtBytes, median } from '../lib/stats.mjs';

const CHILD = fileURLToPath(new URL('./threads-child.mjs', import.meta.url));

const MODES = [
  { id: 'arena', label: 'ArenaCache, one shared arena', kind: 'highlight' },
  { id: 'lru', label: 'lru-cache per worker', kind: 'reference' },
  { id: 'message', label: 'lru-cache on main, postMessage', kind: 'other' },
];

export function config(quick) {
  return {
    entries: quick ? 30_000 : 1_000_000,
    valueBytes: 100,
    ops: quick ? 150_000 : 500_000,
    messageOps: quick ? 10_000 : 50_000,
    window: 64,
    rounds: quick ? 5 : 7,
    warmup: 1,
    seed: 777,
  };
}

const fmtX = (x) => (Number.isFinite(x) ? x.toFixed(2) + '×' : '—');
const cell = (r) => (r.n ? `${fmtX(r.median)} (${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)})` : 'n/a');
const tput = (x) => (x.ops / x.ms) * 1000;

/** Per round, two workers' throughput ÷ one worker's, both from the same run of one mode. */
function scaling(rounds, id) {
  const values = rounds.filter((r) => r[id]).map((r) => tput(r[id]) / tput(r[id].one));
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length, values };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  const results = {};
  const members = [];
  try {
    for (const m of MODES) {
      const child = startMember(CHILD, { ...cfg, mode: m.id }, { onProgress: (t) => ctx.progress(`${m.label}: ${t}`), timeoutMs: ctx.quick ? 120_000 : 600_000 });
      try {
        results[m.id] = { status: 'ok', info: await child.call('setup') };
        members.push({ id: m.id, call: child.call, close: child.close });
      } catch (e) {
        results[m.id] = { status: e.unavailable ? 'not-available' : 'error', reason: e.message.split('\n')[0] };
        child.close();
      }
    }
    const rr = await roundRobin(members, { scenario: '90/10', rounds: cfg.rounds, warmup: cfg.warmup, onProgress: ctx.progress });
    for (const [id, e] of Object.entries(rr.errors)) results[id] = { status: 'error', reason: e };
    for (const m of members) results[m.id].rounds = rr.rounds.map((r) => r[m.id]).filter(Boolean);
    const ok = (id) => results[id]?.status === 'ok';
    report.heading('threads — get/set from worker threads');
    report.para(
      `${cfg.entries.toLocaleString('en-US')} entries × ${cfg.valueBytes} B, 90/10 get/set on uniform random keys built per operation ('key:' + i), a fresh value per set, ` +
        `the first and last byte of every value read; ${cfg.ops.toLocaleString('en-US')} ops per worker per run (${cfg.messageOps.toLocaleString('en-US')} over postMessage, ${cfg.window} requests in flight per worker). ` +
        `Each mode is one process with two workers started once; the modes run interleaved in rounds, and in each mode's run one worker alone and then both (the order alternating by round) are timed back to back. ` +
        `Throughput = the workers' ops ÷ (last finish − first start). Median (min–max) of ${cfg.rounds} rounds after ${cfg.warmup} warm-up. This machine has ${ctx.info.cores} cores.`,
    );
    for (const m of MODES) if (!ok(m.id)) report.note(`${m.label}: ${results[m.id].status === 'not-available' ? 'not available yet' : 'failed'}: ${results[m.id].reason}`);
    const rows = MODES.filter((m) => ok(m.id)).map((m) => {
      const r = results[m.id];
      const one = median(r.rounds.map((x) => tput(x.one)));
      const two = median(r.rounds.map((x) => tput(x)));
      const vsLru = m.id !== 'lru' && ok('lru') ? cell(ratio(rr.rounds, m.id, 'lru')) : '';
      return [m.label, fmtOps(one), fmtOps(two), cell(scaling(rr.rounds, m.id)), vsLru, `${fmtBytes(r.info.memoryBytes)} (${m.id === 'lru' ? '2 copies' : '1 copy'})`];
    });
    report.table('throughput by worker count', ['mode', '1 worker', '2 workers', '2 ÷ 1 per round', '2 workers ÷ lru-cache per worker, per round', 'memory for the data'], rows);
    const charts = [];
    if (rows.length) {
      const panels = [
        {
          title: 'scaling: 2 workers ÷ 1 worker (median of rounds)',
          bars: MODES.map((m) => ({ label: m.label, value: ok(m.id) ? scaling(rr.rounds, m.id).median : NaN, kind: m.kind })),
          format: fmtX,
          goal: { value: 1.8, label: 'goal 1.8× (shared arena)' },
        },
      ];
      charts.push({ name: 'threads', alt: 'thread scaling', svg: barChart({ title: 'threads — scaling by worker count', subtitle: ctx.subtitle, panels }) });
    }
    const targets = [];
    const goal = '2 workers ≥ 1.8× one worker on the shared arena, one copy of the data';
    if (ok('arena')) {
      const s = scaling(rr.rounds, 'arena');
      targets.push({ section: 'threads', goal, value: `${cell(s)} over ${s.n} rounds; ${fmtBytes(results.arena.info.memoryBytes)} shared${ok('lru') ? ` vs ${fmtBytes(results.lru.info.memoryBytes)} for 2 lru-cache copies` : ''}`, reached: s.median >= 1.8 });
    } else targets.push({ section: 'threads', goal, value: `not measured: ${results.arena?.reason}`, reached: null });
    const status = ok('arena') ? 'ok' : results.arena?.status === 'not-available' ? 'not-available' : 'partial';
    return { status, reason: ok('arena') ? undefined : results.arena?.reason, data: { config: cfg, results }, report, charts, targets };
  } finally {
    for (const m of members) {
      await m.call('close').catch(() => {});
      m.close();
    }
  }
}
