// Section 3, cluster: peer fetch throughput and latency between 3 nodes on loopback, unary vs
// coalesced, 1 and 64 callers in flight, 100 B and 16 KB values, beside Redis + ioredis GET.
import { fileURLToPath } from 'node:url';
import { runChild } from '../lib/child.mjs';
import { clusterSupport, startNodes } from '../lib/nodes.mjs';
import { startRedis } from '../lib/redis.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtOps, fmtMs, fmtRatio, summarize, median } from '../lib/stats.mjs';

const REDIS_CHILD = fileURLToPath(new URL('./redis-child.mjs', import.meta.url));

export function config(quick) {
  return {
    durationMs: quick ? 200 : 1000,
    reps: 3,
    warmup: 1,
    inflight: [1, 64],
    sizes: [
      { group: 'v100', size: 100, keyCount: 10_000, label: '100 B' },
      { group: 'v16k', size: 16384, keyCount: 2_000, label: '16 KB' },
    ],
    modes: [
      { id: 'unary', label: 'unary (one Get per key)', cluster: 'unary' },
      { id: 'coalesced', label: 'coalesced (GetMany per loop turn)', cluster: 'main' },
    ],
  };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  report.heading('cluster — peer fetches between 3 nodes on loopback, beside Redis + ioredis');
  const data = { config: cfg, arena: null, redis: null };
  const targets = [];

  // --- Redis + ioredis (runs whether or not the cluster layer exists) ---
  ctx.progress('starting redis-server on a loopback port');
  const redis = await startRedis();
  if (redis.ok) {
    ctx.onCleanup(() => redis.stop());
    const cases = [];
    for (const s of cfg.sizes) {
      for (const inflight of cfg.inflight) cases.push({ size: s.size, keyCount: s.keyCount, inflight, autoPipelining: false });
      if (!ctx.quick) cases.push({ size: s.size, keyCount: s.keyCount, inflight: 64, autoPipelining: true });
    }
    const out = await runChild(REDIS_CHILD, { port: redis.port, cases, durationMs: cfg.durationMs, reps: cfg.reps, warmup: cfg.warmup }, { execArgv: [], onProgress: (t) => ctx.progress(t), timeoutMs: 300_000 });
    await redis.stop();
    data.redis = out.type === 'result' ? { status: 'ok', version: redis.version, cases: out.data } : { status: 'error', reason: out.reason };
  } else {
    data.redis = { status: 'not-available', reason: redis.reason };
  }

  // --- the arenacache cluster ---
  const sup = await clusterSupport();
  let cluster = null;
  if (!sup.ok) data.arena = { status: 'not-available', reason: sup.reason };
  else {
    try {
      ctx.progress('starting 3 nodes (separate processes) on 127.0.0.1');
      cluster = await startNodes(['node-a', 'node-b', 'node-c'], { clients: { 'node-a': [{ name: 'unary', batch: { maxKeys: 1 } }] } });
      ctx.onCleanup(() => cluster.close());
      const a = cluster.nodes[0];
      const cases = [];
      for (const s of cfg.sizes) {
        for (const m of cfg.modes) {
          for (const inflight of cfg.inflight) {
            const runs = [];
            for (let r = 0; r < cfg.warmup + cfg.reps; r++) {
              ctx.progress(`${s.label} ${m.id}, ${inflight} in flight: ${r < cfg.warmup ? 'warm-up' : `rep ${r - cfg.warmup + 1}/${cfg.reps}`}`);
              // the warm-up also makes the owners load every key once (later reps read their caches)
              const dur = r < cfg.warmup ? Math.max(cfg.durationMs, 200) : cfg.durationMs;
              const res = await a.call({ cmd: 'fetch', cluster: m.cluster, group: s.group, inflight, durationMs: dur, keyCount: s.keyCount }, 'fetched', 120_000);
              if (r >= cfg.warmup) runs.push(res.data);
            }
            const sum = (k) => runs.reduce((x, y) => x + y[k], 0);
            cases.push({
              size: s.size,
              mode: m.id,
              inflight,
              opsPerSec: summarize(runs.map((x) => x.opsPerSec)),
              p50Ms: median(runs.map((x) => x.p50Ms)),
              p99Ms: median(runs.map((x) => x.p99Ms)),
              errors: sum('errors'),
              firstError: runs.find((x) => x.firstError)?.firstError ?? null,
              peerFetches: sum('peerFetches'),
              keysPerBatch: sum('batches') ? sum('batchedKeys') / sum('batches') : null,
              coalescedCallers: sum('coalesced'),
            });
          }
        }
      }
      data.arena = { status: 'ok', cases };
    } catch (e) {
      data.arena = { status: 'error', reason: e.message };
    } finally {
      ctx.progress('closing nodes');
      await cluster?.close();
    }
  }

  // --- report ---
  const rc = (size, inflight, auto = false) => (data.redis.status === 'ok' ? data.redis.cases.find((c) => c.size === size && c.inflight === inflight && c.autoPipelining === auto) : null);
  if (data.redis.status !== 'ok') report.note(`Redis + ioredis: ${data.redis.status === 'not-available' ? 'not available' : 'failed'}: ${data.redis.reason}`);
  if (data.arena.status !== 'ok') report.note(`arenacache cluster: ${data.arena.status === 'not-available' ? 'not available yet' : 'failed'}: ${data.arena.reason}`);
  report.para(
    `Node A (its own process) calls group.get() for keys owned by nodes B and C (hot cache off, so every get is a peer fetch; owners serve from their main cache after the warm-up). ` +
      `Unary = batcher maxKeys 1 (one Get RPC per key); coalesced = the default batcher (keys asked within one event-loop turn go out as one GetMany). ` +
      (data.redis.status === 'ok' ? `Redis ${data.redis.version ?? ''}: ioredis getBuffer() against redis-server on 127.0.0.1 (--save '' --appendonly no); the auto-pipelining row is for information, the target compares with the default client. ` : '') +
      `Each figure: median of ${cfg.reps} runs of ${cfg.durationMs} ms after a warm-up; callers in flight loop on distinct keys.`,
  );
  const rows = [];
  for (const s of cfg.sizes) {
    for (const inflight of cfg.inflight) {
      const ref = rc(s.size, inflight);
      for (const m of cfg.modes) {
        const c = data.arena.status === 'ok' ? data.arena.cases.find((x) => x.size === s.size && x.mode === m.id && x.inflight === inflight) : null;
        rows.push([s.label, inflight, `arenacache ${m.id}`, c ? fmtOps(c.opsPerSec.median) : 'n/a', c && ref ? fmtRatio(c.opsPerSec.median / ref.opsPerSec.median) : '—', c ? fmtMs(c.p50Ms) : '', c ? fmtMs(c.p99Ms) : '', c?.keysPerBatch ? c.keysPerBatch.toFixed(1) : '', c ? String(c.errors) : '']);
      }
      if (ref) rows.push([s.label, inflight, 'Redis + ioredis', fmtOps(ref.opsPerSec.median), '1.00×', fmtMs(ref.p50Ms), fmtMs(ref.p99Ms), '', String(ref.errors)]);
      const auto = inflight === 64 ? rc(s.size, 64, true) : null;
      if (auto) rows.push([s.label, inflight, 'Redis + ioredis (auto-pipelining)', fmtOps(auto.opsPerSec.median), fmtRatio(auto.opsPerSec.median / ref.opsPerSec.median), fmtMs(auto.p50Ms), fmtMs(auto.p99Ms), '', String(auto.errors)]);
    }
  }
  report.table('fetch throughput and latency (ratio to Redis + ioredis at the same size and concurrency)', ['value', 'in flight', 'client', 'ops/s', '× Redis', 'p50', 'p99', 'keys/RPC', 'errors'], rows);
  for (const c of data.arena?.cases ?? []) if (c.firstError) report.note(`${c.size} B ${c.mode} ${c.inflight} in flight: first error: ${c.firstError}`);

  const panels = [];
  for (const s of cfg.sizes) {
    for (const inflight of cfg.inflight) {
      const bars = cfg.modes.map((m) => {
        const c = data.arena.status === 'ok' ? data.arena.cases.find((x) => x.size === s.size && x.mode === m.id && x.inflight === inflight) : null;
        return { label: `arenacache ${m.id}`, value: c ? c.opsPerSec.median : NaN, kind: m.id === 'coalesced' ? 'highlight' : 'other', note: c ? undefined : 'not available yet' };
      });
      const ref = rc(s.size, inflight);
      bars.push({ label: 'Redis + ioredis', value: ref ? ref.opsPerSec.median : NaN, kind: 'reference', note: ref ? undefined : 'redis not available' });
      const auto = inflight === 64 ? rc(s.size, 64, true) : null;
      if (auto) bars.push({ label: 'Redis (auto-pipelining)', value: auto.opsPerSec.median, kind: 'other' });
      panels.push({ title: `${s.label} values, ${inflight} in flight — gets/s`, bars, format: fmtOps });
    }
  }
  const charts = [{ name: 'cluster', alt: 'cluster peer fetch throughput', svg: barChart({ title: 'cluster — peer fetches vs Redis + ioredis GET', subtitle: ctx.subtitle, panels }) }];

  const ref = rc(100, 64);
  const coal = data.arena.status === 'ok' ? data.arena.cases.find((x) => x.size === 100 && x.mode === 'coalesced' && x.inflight === 64) : null;
  targets.push({
    section: 'cluster',
    goal: 'coalesced peer fetches ≥ Redis + ioredis GET rate, 100 B values (64 in flight)',
    value: coal && ref ? `${fmtOps(coal.opsPerSec.median)} vs ${fmtOps(ref.opsPerSec.median)} = ${fmtRatio(coal.opsPerSec.median / ref.opsPerSec.median)}` : `not measured: ${!coal ? `cluster ${data.arena.reason ?? 'failed'}` : `redis ${data.redis.reason}`}`,
    reached: coal && ref ? coal.opsPerSec.median >= ref.opsPerSec.median : null,
  });
  const status = data.arena.status === 'ok' ? (data.redis.status === 'ok' ? 'ok' : 'partial') : data.arena.status === 'not-available' ? 'partial' : 'partial';
  return { status, reason: data.arena.status !== 'ok' ? data.arena.reason : data.redis.status !== 'ok' ? `redis: ${data.redis.reason}` : undefined, data, report, charts, targets };
}
