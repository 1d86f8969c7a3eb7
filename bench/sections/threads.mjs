// Section 2, threads: 1 and 2 workers on one shared arena vs a lru-cache per worker and one
// lru-cache on the main thread reached by postMessage. Each mode runs in its own child process.
import { fileURLToPath } from 'node:url';
import { runChild } from '../lib/child.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtOps, fmtRatio, fmtBytes } from '../lib/stats.mjs';

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
    ops: quick ? 150_000 : 1_000_000,
    messageOps: quick ? 10_000 : 100_000,
    window: 64,
    workers: [1, 2],
    reps: 3,
    warmup: 1,
    seed: 777,
  };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  const results = {};
  for (const m of MODES) {
    ctx.progress(`${m.label}: starting`);
    const out = await runChild(CHILD, { ...cfg, mode: m.id }, { onProgress: (t) => ctx.progress(`${m.label}: ${t}`), timeoutMs: ctx.quick ? 90_000 : 300_000 });
    results[m.id] = out.type === 'result' ? { status: 'ok', ...out.data } : { status: out.type === 'unavailable' ? 'not-available' : 'error', reason: out.reason };
  }
  const ok = (id) => results[id].status === 'ok';
  report.heading('threads — get/set from worker threads');
  report.para(
    `${cfg.entries.toLocaleString('en-US')} entries × ${cfg.valueBytes} B, 90/10 get/set on uniform random keys (prebuilt key strings), ` +
      `${cfg.ops.toLocaleString('en-US')} ops per worker (${cfg.messageOps.toLocaleString('en-US')} over postMessage, ${cfg.window} requests in flight per worker). ` +
      `Throughput = all workers' ops ÷ wall time from the first start to the last finish; median of ${cfg.reps} rounds after ${cfg.warmup} warm-up. This machine has ${ctx.info.cores} cores.`,
  );
  for (const m of MODES) if (!ok(m.id)) report.note(`${m.label}: ${results[m.id].status === 'not-available' ? 'not available yet' : 'failed'}: ${results[m.id].reason}`);
  const rows = MODES.map((m) => {
    const r = results[m.id];
    if (!ok(m.id)) return [m.label, 'n/a', 'n/a', 'n/a', 'n/a'];
    const one = r.byWorkers[1]?.opsPerSec.median;
    const two = r.byWorkers[2]?.opsPerSec.median;
    const mem = m.id === 'lru' ? `${fmtBytes(r.byWorkers[2]?.workerMemoryBytes)} (2 copies)` : `${fmtBytes(r.memoryBytes)} (1 copy)`;
    return [m.label, fmtOps(one), fmtOps(two), fmtRatio(two / one), mem];
  });
  report.table('throughput by worker count', ['mode', '1 worker', '2 workers', '2 ÷ 1', 'memory for the data'], rows);
  if (ok('arena') && ok('lru')) {
    report.para(`Shared arena vs lru-cache per worker at 2 workers: ${fmtRatio(results.arena.byWorkers[2].opsPerSec.median / results.lru.byWorkers[2].opsPerSec.median)}; vs postMessage: ${ok('message') ? fmtRatio(results.arena.byWorkers[2].opsPerSec.median / results.message.byWorkers[2].opsPerSec.median) : 'n/a'}.`);
  }
  const panels = [1, 2].map((w) => ({
    title: `${w} worker${w > 1 ? 's' : ''} — ops/s (all workers)`,
    bars: MODES.map((m) => ({ label: m.label, value: ok(m.id) ? results[m.id].byWorkers[w]?.opsPerSec.median : NaN, kind: m.kind, note: ok(m.id) ? undefined : 'not available yet' })),
    format: fmtOps,
  }));
  panels.push({
    title: 'scaling: 2 workers ÷ 1 worker',
    bars: MODES.map((m) => ({ label: m.label, value: ok(m.id) ? results[m.id].byWorkers[2].opsPerSec.median / results[m.id].byWorkers[1].opsPerSec.median : NaN, kind: m.kind })),
    format: (v) => fmtRatio(v),
    goal: { value: 1.8, label: 'goal 1.8× (shared arena)' },
  });
  const charts = [{ name: 'threads', alt: 'thread scaling', svg: barChart({ title: 'threads — throughput and scaling by worker count', subtitle: ctx.subtitle, panels }) }];
  const targets = [];
  if (ok('arena')) {
    const s = results.arena.byWorkers[2].opsPerSec.median / results.arena.byWorkers[1].opsPerSec.median;
    targets.push({ section: 'threads', goal: '2 workers ≥ 1.8× one worker on the shared arena, one copy of the data', value: `${fmtRatio(s)} (${fmtOps(results.arena.byWorkers[1].opsPerSec.median)} → ${fmtOps(results.arena.byWorkers[2].opsPerSec.median)}; ${fmtBytes(results.arena.memoryBytes)} shared${ok('lru') ? ` vs ${fmtBytes(results.lru.byWorkers[2].workerMemoryBytes)} for 2 lru-cache copies` : ''})`, reached: s >= 1.8 });
  } else targets.push({ section: 'threads', goal: '2 workers ≥ 1.8× one worker on the shared arena, one copy of the data', value: `not measured: ${results.arena.reason}`, reached: null });
  const status = ok('arena') ? 'ok' : results.arena.status === 'not-available' ? 'not-available' : 'partial';
  return { status, reason: ok('arena') ? undefined : results.arena.reason, data: { config: cfg, results }, report, charts, targets };
}
