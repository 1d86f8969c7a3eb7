// Section 1, core: ArenaCache beside the in-process LRU caches, each library in its own child.
import { fileURLToPath } from 'node:url';
import { runChild } from '../lib/child.mjs';
import { ALL_IDS, peerById } from '../lib/peers.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtOps, fmtRatio, fmtNum, fmtMs, fmtPct, fmtBytes } from '../lib/stats.mjs';

const CHILD = fileURLToPath(new URL('./core-child.mjs', import.meta.url));
const REF = 'lru-cache';

export function config(quick) {
  return {
    shapes: quick
      ? [
          { entries: 20_000, valueBytes: 100, label: '20k × 100 B' },
          { entries: 4_000, valueBytes: 4096, label: '4k × 4 KB' },
        ]
      : [
          { entries: 1_000_000, valueBytes: 100, label: '1M × 100 B' },
          { entries: 200_000, valueBytes: 4096, label: '200k × 4 KB' },
        ],
    reps: 3,
    warmup: 1,
    seed: 20240601,
    batch: 100,
    mixFactor: quick ? 2 : 1, // 90/10 ops = mixFactor × entries
    zipf: { theta: 0.99, capacityFraction: 0.1, lengthFactor: 1 },
  };
}

const shapeTag = (s) => (s.valueBytes >= 1024 ? `${s.valueBytes / 1024}KB` : `${s.valueBytes}B`);

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const libs = ctx.libs ?? ALL_IDS;
  const data = { config: cfg, shapes: [] };
  const report = new Report();
  const charts = [];
  const targets = [];
  report.heading('core — in-process caches, each library in its own child process');
  report.para(
    `Median of ${cfg.reps} runs after ${cfg.warmup} warm-up; string keys 'key:<i>', Uint8Array values. ` +
      `Ratios are against ${REF}. Zipf(${cfg.zipf.theta}) read-through (miss → set) with capacity ${cfg.zipf.capacityFraction * 100}% of the keys; ` +
      `ArenaCache's byte budget is sized so that it holds the same number of entries as the count-bounded peers.`,
  );
  const total = cfg.shapes.length * libs.length;
  let n = 0;
  for (const shape of cfg.shapes) {
    const results = {};
    for (const lib of libs) {
      n++;
      const tag = `[${n}/${total}] ${peerById(lib).label} ${shape.label}`;
      ctx.progress(`${tag}: starting`);
      const arg = {
        lib,
        entries: shape.entries,
        valueBytes: shape.valueBytes,
        reps: cfg.reps,
        warmup: cfg.warmup,
        seed: cfg.seed,
        batch: cfg.batch,
        mixOps: cfg.mixFactor * shape.entries,
        zipf: cfg.zipf,
      };
      const out = await runChild(CHILD, arg, { onProgress: (t) => ctx.progress(`${tag}: ${t}`), timeoutMs: ctx.quick ? 120_000 : 480_000 });
      if (out.type === 'result') results[lib] = { status: 'ok', ...out.data };
      else if (out.type === 'unavailable') results[lib] = { status: 'not-available', reason: out.reason };
      else results[lib] = { status: 'error', reason: out.reason };
    }
    data.shapes.push({ ...shape, results });
    renderShape(report, charts, targets, shape, results, cfg, ctx);
  }
  const anyArena = data.shapes.some((s) => s.results.arenacache?.status === 'ok');
  return { status: anyArena ? 'ok' : 'partial', data, report, charts, targets };
}

function get(o, path) {
  return path.split('.').reduce((a, k) => (a == null ? undefined : a[k]), o);
}

function renderShape(report, charts, targets, shape, results, cfg, ctx) {
  const tag = shapeTag(shape);
  const ids = Object.keys(results);
  const ok = (id) => results[id]?.status === 'ok';
  const ref = results[REF];
  const label = (id) => peerById(id).label;
  report.heading(`core ${shape.label} (${shape.entries.toLocaleString('en-US')} entries, ${shape.valueBytes} B values)`);
  for (const id of ids) {
    if (!ok(id)) report.note(`${label(id)}: ${results[id].status === 'not-available' ? 'not available yet: ' : 'failed: '}${results[id].reason}`);
  }
  const ratio = (id, path) => {
    const v = get(results[id], path);
    const r = ok(REF) ? get(ref, path) : NaN;
    return ok(id) && Number.isFinite(v) && Number.isFinite(r) && r ? v / r : NaN;
  };
  const opsCell = (id, path) => (ok(id) ? `${fmtOps(get(results[id], path))} (${fmtRatio(ratio(id, path))})` : 'n/a');
  const spread = (id, paths) => {
    if (!ok(id)) return '';
    const s = Math.max(...paths.map((p) => get(results[id], p.replace(/\.median$/, '.spread')) ?? 0));
    return `±${(s * 50).toFixed(0)}%`;
  };
  const thrPaths = ['setPrebuilt.median', 'setBuilt.median', 'getPrebuilt.median', 'getBuilt.median', 'getMany.median', 'zipf.opsPerSec.median'];
  report.table(
    'throughput, ops/s (ratio to lru-cache)',
    ['library', 'set prebuilt', 'set built/call', 'get prebuilt', 'get built/call', `getMany ×${cfg.batch} (keys/s)`, 'Zipf read-through', 'spread'],
    ids.map((id) => [label(id), ...thrPaths.map((p) => opsCell(id, p)), spread(id, thrPaths)]),
  );
  const refHit = ok(REF) ? ref.zipf.hitRatio : NaN;
  report.table(
    `Zipf(${cfg.zipf.theta}) hit ratio, capacity ${Math.round(shape.entries * cfg.zipf.capacityFraction).toLocaleString('en-US')} of ${shape.entries.toLocaleString('en-US')} keys`,
    ['library', 'policy', 'hit ratio', 'Δ vs lru-cache (points)', 'entries held', 'trace'],
    ids.map((id) => {
      const r = results[id];
      if (!ok(id)) return [label(id), peerById(id).policy, 'n/a', '', '', ''];
      return [label(id), peerById(id).policy, fmtPct(r.zipf.hitRatio), fmtNum((r.zipf.hitRatio - refHit) * 100, 2), r.zipf.entriesHeld.toLocaleString('en-US'), r.zipf.traceChecksum];
    }),
  );
  const anyRes = ids.map((id) => results[id]).find((r) => r?.status === 'ok');
  if (anyRes) report.para(`Exact strict-LRU hit ratio on this trace (reference simulation): ${fmtPct(anyRes.zipf.strictLruHitRatio)}.`);
  report.table(
    'memory and GC',
    ['library', 'bytes/entry (heap+external)', '× payload', 'RSS/entry', 'forced full GC, full cache', 'forced GC, empty', 'GC pause p99 / max / total (90/10)', 'batch×1000 p99 / max', '90/10 ops/s'],
    ids.map((id) => {
      const r = results[id];
      if (!ok(id)) return [label(id), 'n/a', '', '', '', '', '', '', ''];
      return [
        label(id),
        `${fmtNum(r.memory.bytesPerEntry, 0)} B`,
        fmtRatio(r.memory.overPayload),
        `${fmtNum(r.memory.rssPerEntry, 0)} B`,
        fmtMs(r.forcedGcFullMs.median),
        fmtMs(r.forcedGcEmptyMs.median),
        `${fmtMs(r.mix.gc.p99Ms)} / ${fmtMs(r.mix.gc.maxMs)} / ${fmtMs(r.mix.gc.totalMs)} (${r.mix.gc.count} GCs)`,
        `${fmtMs(r.mix.batchP99Ms)} / ${fmtMs(r.mix.batchMaxMs)}`,
        fmtOps(r.mix.opsPerSec),
      ];
    }),
  );
  if (anyRes) report.para(`Payload per entry: ${fmtNum(anyRes.payloadPerEntry, 1)} B (mean UTF-8 key bytes + value bytes). Bytes/entry = Δ(heapUsed + external) after forced GC ÷ entries (arrayBuffers is part of external and not added twice; ArenaCache's wasm memory is counted once: from external if it shows there, else stats().memoryBytes is added, as the notes say). RSS/entry includes allocator overhead the V8 counters miss (e.g. each Uint8Array's backing-store record).`);
  report.table(
    `getMany batch latency (batches of ${cfg.batch}, prebuilt keys)`,
    ['library', 'native getMany', 'p50', 'p99', 'max'],
    ids.filter(ok).map((id) => {
      const l = results[id].getManyLatency;
      return [label(id), results[id].getManyNative ? 'yes' : 'no (loop of get)', `${fmtNum(l.p50Us, 1)} µs`, `${fmtNum(l.p99Us, 1)} µs`, `${fmtNum(l.maxUs, 0)} µs`];
    }),
  );
  const a = results.arenacache;
  if (a?.status === 'ok') {
    const s = a.sizing ?? {};
    const lines = Object.values(s).map((z) => `${z.mode} ${z.target.toLocaleString('en-US')} → maxBytes ${z.maxBytes.toLocaleString('en-US')} (${fmtBytes(z.maxBytes)}, ${fmtNum(z.bytesUsedPerEntry, 1)} B charged per entry, held ${z.entries.toLocaleString('en-US')})`);
    report.para(`ArenaCache sizing (${a.from}): ${lines.join('; ')}. Memory after fill: stats().memoryBytes ${fmtBytes(a.memory.arena?.memoryBytes)}, bytesUsed/entry ${fmtNum(a.memory.arena?.bytesUsedPerEntry, 1)} B.`);
  }
  for (const id of ids) for (const note of results[id]?.notes ?? []) report.note(`${label(id)}: ${note}`);

  // charts
  const kind = (id) => (id === 'arenacache' ? 'highlight' : id === REF ? 'reference' : 'other');
  const bars = (path, f = (x) => x) => ids.map((id) => ({ label: label(id), value: ok(id) ? f(get(results[id], path)) : NaN, kind: kind(id), note: ok(id) ? undefined : results[id].status === 'not-available' ? 'not available yet' : 'failed' }));
  const thrPanels = [
    ['set, prebuilt keys', 'setPrebuilt.median'],
    ['set, keys built per call', 'setBuilt.median'],
    ['get, prebuilt keys', 'getPrebuilt.median'],
    ['get, keys built per call', 'getBuilt.median'],
    [`getMany, batches of ${cfg.batch} (keys/s)`, 'getMany.median'],
    [`Zipf(${cfg.zipf.theta}) read-through, capacity 10%`, 'zipf.opsPerSec.median'],
  ].map(([title, path]) => ({
    title: `${title} — ops/s`,
    bars: bars(path),
    format: fmtOps,
    goal: ok(REF) && shape.entries >= 1_000_000 && /^(set|get)(Prebuilt|Built)/.test(path) ? { value: 1.5 * get(ref, path), label: 'goal 1.5× lru-cache' } : undefined,
  }));
  charts.push({ name: `core-throughput-${tag}`, alt: `core throughput ${shape.label}`, svg: barChart({ title: `core throughput — ${shape.label}`, subtitle: ctx.subtitle, panels: thrPanels }) });
  const memPanels = [
    { title: 'bytes per entry (heap + external, after forced GC)', bars: bars('memory.bytesPerEntry'), format: (v) => `${v.toFixed(0)} B`, goal: anyRes ? { value: 1.4 * anyRes.payloadPerEntry, label: `goal 1.4× payload (${(1.4 * anyRes.payloadPerEntry).toFixed(0)} B)` } : undefined },
    { title: 'forced full GC with the cache full (ms)', bars: bars('forcedGcFullMs.median'), format: fmtMs, goal: { value: 10, label: 'goal 10 ms' } },
    { title: 'GC pause p99 under 90/10 get/set (ms)', bars: bars('mix.gc.p99Ms'), format: fmtMs },
    { title: 'total GC time under 90/10 get/set (ms)', bars: bars('mix.gc.totalMs'), format: fmtMs },
    { title: `Zipf(${cfg.zipf.theta}) hit ratio, capacity 10%`, bars: bars('zipf.hitRatio'), format: (v) => fmtPct(v) },
  ];
  charts.push({ name: `core-memory-gc-${tag}`, alt: `core memory and GC ${shape.label}`, svg: barChart({ title: `core memory, GC and hit ratio — ${shape.label}`, subtitle: ctx.subtitle, panels: memPanels }) });

  // targets
  const full = shape.entries >= 1_000_000;
  const scaleNote = full ? '' : ` (measured at ${shape.label}; the goal is stated for 1M entries)`;
  if (shape.valueBytes === 100) {
    for (const [name, path] of [
      ['set, prebuilt keys', 'setPrebuilt.median'],
      ['set, keys built per call', 'setBuilt.median'],
      ['get, prebuilt keys', 'getPrebuilt.median'],
      ['get, keys built per call', 'getBuilt.median'],
    ]) {
      const r = ratio('arenacache', path);
      targets.push({ section: 'core', goal: `${name} ≥ 1.5× lru-cache at 1M entries`, value: Number.isFinite(r) ? `${fmtRatio(r)} (${fmtOps(get(a, path))} vs ${fmtOps(get(ref, path))})${scaleNote}` : notMeasured(a, ref), reached: Number.isFinite(r) ? r >= 1.5 : null });
    }
  }
  if (a?.status === 'ok') {
    targets.push({ section: 'core', goal: `bytes per entry ≤ 1.4× payload (${shape.label})`, value: `${fmtNum(a.memory.bytesPerEntry, 0)} B = ${fmtRatio(a.memory.overPayload)} of ${fmtNum(a.payloadPerEntry, 1)} B`, reached: a.memory.overPayload <= 1.4 });
    if (ok(REF)) {
      const d = (a.zipf.hitRatio - ref.zipf.hitRatio) * 100;
      targets.push({ section: 'core', goal: `Zipf hit ratio within 0.5 points of lru-cache (${shape.label})`, value: `${fmtPct(a.zipf.hitRatio)} vs ${fmtPct(ref.zipf.hitRatio)} (${d >= 0 ? '+' : ''}${d.toFixed(2)} points)`, reached: Math.abs(d) <= 0.5 });
    }
    targets.push({ section: 'core', goal: `forced full GC with the cache full ≤ 10 ms (${shape.label})`, value: `${fmtMs(a.forcedGcFullMs.median)} (max ${fmtMs(a.forcedGcFullMaxMs)}); lru-cache ${ok(REF) ? fmtMs(ref.forcedGcFullMs.median) : 'n/a'}`, reached: a.forcedGcFullMs.median <= 10 });
  } else {
    for (const g of ['bytes per entry ≤ 1.4× payload', 'Zipf hit ratio within 0.5 points of lru-cache', 'forced full GC with the cache full ≤ 10 ms']) targets.push({ section: 'core', goal: `${g} (${shape.label})`, value: notMeasured(a, ref), reached: null });
  }
}

function notMeasured(a, ref) {
  if (!a) return 'not measured: ArenaCache not run (--libs)';
  if (a.status !== 'ok') return `not measured: ArenaCache ${a?.status === 'not-available' ? 'not available yet' : 'failed'} (${a?.reason ?? 'not run'})`;
  if (!ref || ref.status !== 'ok') return `not measured: lru-cache ${ref?.reason ?? 'not run'}`;
  return 'not measured';
}
