// Section 6, policies: miss ratios of candidate eviction policies for the core (exact LRU, CLOCK
// over a log, S3-FIFO, SIEVE) on synthetic and real traces, read-through, next to exact LRU; plus
// what 16 segments cost against one, the spread over segment-hash seeds (the noise), knob sweeps,
// and the real ArenaCache for every policy its build supports. Idealized simulators live in
// bench/lib/policies/ (byte budgets, no allocator or index); see docs/policies.md for the reading.
import { build, parseSpec } from '../lib/policies/index.mjs';
import { replay } from '../lib/replay.mjs';
import { REAL_TRACES, tracesDir, loadRealTrace, zipf, scanHeavy, loopTrace } from '../lib/traces.mjs';
import { loadArenaCache } from '../lib/arena.mjs';
import { Report } from '../lib/report.mjs';
import { median } from '../lib/stats.mjs';

export function config(quick) {
  return {
    fractions: [0.01, 0.05, 0.1, 0.25],
    segments: 16,
    // Segment-hash seeds: each gives another key→segment assignment; their spread is the noise.
    seeds: quick ? [1, 2] : [1, 2, 3, 4, 5],
    // The policies of the main table (16 segments, every seed) and of the 1-segment comparison:
    // the reference, two CLOCKs, S3-FIFO as the paper and libCacheSim run it, S3-FIFO as
    // recommended for the core (docs/policies.md), and SIEVE.
    main: ['lru', 'clock:bits=1', 'clock:bits=2,k=8', 's3fifo:t=2', 's3fifo:s=20,t=1,ghost=approx,k=8', 'sieve'],
    // Knob sweeps (16 segments, first seed only); skipped with --quick and on the costliest trace.
    sweeps: quick
      ? []
      : [
          { title: 'CLOCK over a log: counter bits × re-appends per eviction (K)', specs: [1, 2].flatMap((b) => ['1', '2', '4', '8', 'inf'].map((k) => `clock:bits=${b},k=${k}`)) },
          { title: 'S3-FIFO: small-queue share × move-to-main threshold × ghost kind (K unbounded)', specs: ['5', '10', '20', '30'].flatMap((s) => ['1', '2'].flatMap((t) => ['exact', 'approx'].map((g) => `s3fifo:s=${s},t=${t},ghost=${g}`))) },
          { title: 'S3-FIFO S20 t1 approximate ghost: re-appends per eviction (K)', specs: ['1', '2', '4', '8', '16', 'inf'].map((k) => `s3fifo:s=20,t=1,ghost=approx,k=${k}`) },
        ],
    sweepSkip: ['zipf-1m'], // zipf-100k shows the same shapes at a fifth of the cost
    // The real core: every policy name it may support, plus its default (exact segmented LRU today).
    corePolicies: ['lru', 'clock', 's3fifo', 'sieve'],
    coreValueBytes: 100, // unsized traces: every value this size (8-byte keys), so bytes ∝ count
    coreMaxRequests: quick ? 1_000_000 : 10_000_000,
  };
}

/** The workloads, cheapest first. `load()` resolves to a trace, or null when not present. */
export function workloads(quick) {
  const syn = (make) => ({ kind: 'synthetic', load: async () => make() });
  const list = quick
    ? [
        { name: 'zipf-100k', ...syn(() => zipf({ objects: 100_000, length: 1_000_000, seed: 42 })) },
        { name: 'scan-100k', ...syn(() => scanHeavy({ objects: 100_000, length: 1_000_000, seed: 43 })) },
        { name: 'loop-100k', ...syn(() => loopTrace({ objects: 100_000, loop: 50_000, length: 1_000_000, seed: 44 })) },
      ]
    : [
        { name: 'zipf-100k', ...syn(() => zipf({ objects: 100_000, length: 2_000_000, seed: 42 })) },
        { name: 'zipf-1m', ...syn(() => zipf({ objects: 1_000_000, length: 10_000_000, seed: 41 })) },
        { name: 'scan-100k', ...syn(() => scanHeavy({ objects: 100_000, length: 2_000_000, seed: 43 })) },
        { name: 'loop-100k', ...syn(() => loopTrace({ objects: 100_000, loop: 50_000, length: 2_000_000, seed: 44 })) },
      ];
  // --quick keeps the real traces under ~120k requests (orm-busy has 5M)
  for (const name of quick ? ['web12', 'cloudphysics', 'adaptsize'] : REAL_TRACES) {
    list.push({ name, kind: 'real', load: () => loadRealTrace(name) });
  }
  return list;
}

const LABELS = { lru: 'LRU', clock: 'CLOCK', s3fifo: 'S3-FIFO', sieve: 'SIEVE' };

/** 'clock:bits=2,k=4' → 'CLOCK 2b K4'; 's3fifo:t=1,ghost=approx' → 'S3-FIFO S10 t1 approx'. */
export function label(text) {
  const { policy, options: o } = parseSpec(text);
  const k = o.maxReinserts === undefined || o.maxReinserts === Infinity ? '' : ` K${o.maxReinserts}`;
  if (policy === 'clock') return `CLOCK ${o.bits ?? 1}b${k}`;
  if (policy === 's3fifo') return `S3-FIFO S${Math.round((o.small ?? 0.1) * 100)} t${o.threshold ?? 2} ${o.ghost ?? 'exact'}${k}`;
  return LABELS[policy];
}

const pts = (x) => (x * 100).toFixed(2);
const signed = (x) => (x >= 0.00005 ? '+' : x <= -0.00005 ? '−' : '±') + Math.abs(x * 100).toFixed(2);

/** One simulator run: miss ratio and work counters. */
function simulate(spec, trace, capacity, segments, seed) {
  const meanSize = trace.sizes ? trace.workingSetBytes / trace.objects : 1;
  const cache = build(spec, { capacity, universe: trace.objects, segments, seed, meanSize });
  const r = replay(cache, trace);
  return { missRatio: r.missRatio, misses: r.misses, refused: r.refused, reinserts: cache.reinserts, reinsertedBytes: cache.reinsertedBytes, maxReinsertRun: cache.maxReinsertRun ?? 0, evictions: cache.evictions };
}

/** Which policies the built core supports: `{ available: Map(policy → bool), ArenaCache, reason }`. */
async function coreSupport(policies) {
  const loaded = await loadArenaCache();
  const available = new Map(policies.map((p) => [p, false]));
  if (!loaded.ok) return { available, ArenaCache: null, reason: loaded.reason, defaultPolicy: null };
  const probe = await loaded.ArenaCache.create({ maxBytes: 1 << 20 });
  const defaultPolicy = probe.policy ?? null;
  probe.close?.();
  for (const policy of policies) {
    try {
      const c = await loaded.ArenaCache.create({ maxBytes: 1 << 20, segments: 16, policy });
      available.set(policy, c.policy === policy);
      c.close?.();
    } catch {
      available.set(policy, false);
    }
  }
  return { available, ArenaCache: loaded.ArenaCache, reason: null, defaultPolicy };
}

/** The hash seed of the replayed core caches: fixed, so the simulator can mirror its segment choice. */
const CORE_SEED = [0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210];

/**
 * The smallest maxBytes (to 16 B a segment) under which every segment's budget (the bytes its
 * policy may fill) is at least `bytesPerSegment`, read from the cache itself: the index and the
 * policy's bookkeeping are carved out of maxBytes, and how is the core's business.
 */
async function maxBytesFor(ArenaCache, bytesPerSegment, segments, options) {
  const budgetAt = async (maxBytes) => {
    let c;
    try {
      c = await ArenaCache.create({ ...options, maxBytes, segments, maxValueBytes: Math.min(options.maxValueBytes, Math.floor(maxBytes / segments) - 64) });
    } catch (e) {
      if (e instanceof RangeError) return 0; // too small for a segment's index and minimum storage
      throw e;
    }
    const b = Math.min(...c.stats().segments.map((x) => x.budget));
    c.close?.();
    return b;
  };
  let share = Math.max(1024, bytesPerSegment & ~15);
  for (let i = 0; i < 64; i++) {
    const budget = await budgetAt(share * segments);
    const lack = bytesPerSegment - budget;
    if (budget > 0 && lack <= 0) return share * segments;
    share += budget === 0 ? Math.max(1024, share >> 2) : Math.max(16, (lack + 15) & ~15);
  }
  throw new Error(`no maxBytes gives a segment a budget of ${bytesPerSegment} B`);
}

/**
 * The core's segment choice for the replay's keys under CORE_SEED, mirrored: FNV-1a of the
 * 8-char hex key from the offset basis xored with the seed's first word, then murmur3's fmix32
 * (docs/ABI.md, hashing). The table checks the mirror: core lru must equal this simulated LRU.
 */
const hexKey = (id) => id.toString(16).padStart(8, '0');
function coreSegmentHash(id) {
  const s = hexKey(id);
  let h = (0x811c9dc5 ^ CORE_SEED[0]) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Read-through replay of a trace through the real ArenaCache (8-char hex keys). */
async function coreReplay(ArenaCache, trace, fraction, { policy, valueBytes, segments }) {
  const charge = (size) => ArenaCache.entrySize(8, size);
  let maxValue = valueBytes;
  let total = 0;
  if (trace.sizes) {
    const seen = new Uint8Array(trace.objects);
    for (let i = 0; i < trace.ids.length; i++) {
      const k = trace.ids[i];
      if (!seen[k]) {
        seen[k] = 1;
        total += charge(trace.sizes[i]);
        if (trace.sizes[i] > maxValue) maxValue = trace.sizes[i];
      }
    }
  } else total = trace.workingSetBytes * charge(valueBytes);
  const options = { seed: CORE_SEED, maxValueBytes: maxValue, sweepIntervalMs: 0, ...(policy ? { policy } : {}) };
  const maxBytes = await maxBytesFor(ArenaCache, Math.floor((total * fraction) / segments), segments, options);
  const cache = await ArenaCache.create({ ...options, maxBytes, segments, maxValueBytes: Math.min(maxValue, Math.floor(maxBytes / segments) - 64) });
  const value = new Uint8Array(maxValue).fill(7);
  let misses = 0, refused = 0;
  for (let i = 0; i < trace.ids.length; i++) {
    const key = hexKey(trace.ids[i]);
    if (cache.get(key) !== undefined) continue;
    misses++;
    try {
      cache.set(key, trace.sizes ? value.subarray(0, trace.sizes[i]) : value.subarray(0, valueBytes));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      refused++;
    }
  }
  const budget = cache.stats().segments[0]?.budget ?? NaN;
  cache.close?.();
  return { missRatio: misses / trace.ids.length, refused, maxBytes, segmentBudget: budget, targetBudget: Math.floor((total * fraction) / segments) };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  const data = { config: cfg, workloads: [], core: {} };
  const { dir, reason } = tracesDir();
  const core = await coreSupport(cfg.corePolicies);
  data.core = { available: Object.fromEntries(core.available), reason: core.reason, defaultPolicy: core.defaultPolicy };

  report.heading('policies — eviction policies for the core, read-through miss ratios');
  report.para(
    `Idealized byte-budgeted simulators (bench/lib/policies/), ${cfg.segments} segments of 1/${cfg.segments} of the budget each, keys spread by a seeded hash; ` +
      `miss ratio over all requests (cold misses included: they are the same for every policy). Cache sizes are fractions of the working set ` +
      `(distinct objects; bytes for sized traces). Δ = policy − LRU in points, median over ${cfg.seeds.length} segment-hash seeds; [min, max] of the per-seed Δ. ` +
      `Real traces: ${dir ?? reason}.`,
  );
  for (const [p, ok] of core.available) if (!ok) report.note(`core policy ${p}: not available in this build${core.reason ? ` (${core.reason})` : ''}`);

  const summary = new Map(cfg.main.map((s) => [s, []])); // spec → per-cell Δ medians
  const loads = workloads(ctx.quick);
  for (const w of loads) {
    ctx.progress(`${w.name}: loading`);
    const trace = await w.load();
    if (!trace) {
      report.note(`${w.name}: ${reason ?? `not present (no ${w.name}.act.gz in ${dir})`}`);
      data.workloads.push({ name: w.name, present: false });
      continue;
    }
    const wd = { name: w.name, present: true, note: trace.note, requests: trace.ids.length, objects: trace.objects, workingSetBytes: trace.workingSetBytes, sized: !!trace.sizes, cells: [] };
    data.workloads.push(wd);
    const rows = [];
    const segRows = [];
    const workRows = [];
    for (const fraction of cfg.fractions) {
      const capacity = Math.floor(trace.workingSetBytes * fraction);
      const cell = { fraction, capacity, main: {}, oneSegment: {}, sweeps: {}, core: {} };
      wd.cells.push(cell);
      // main table: every seed, paired with LRU under the same seed
      for (const spec of cfg.main) {
        ctx.progress(`${w.name} ${fraction * 100}%: ${spec}`);
        const runs = cfg.seeds.map((seed) => simulate(spec, trace, capacity, cfg.segments, seed));
        cell.main[spec] = { runs, median: median(runs.map((r) => r.missRatio)) };
      }
      const lru = cell.main.lru.runs;
      for (const spec of cfg.main) {
        const deltas = cell.main[spec].runs.map((r, i) => r.missRatio - lru[i].missRatio);
        Object.assign(cell.main[spec], { delta: median(deltas), deltaMin: Math.min(...deltas), deltaMax: Math.max(...deltas) });
      }
      const lruSpread = Math.max(...lru.map((r) => r.missRatio)) - Math.min(...lru.map((r) => r.missRatio));
      cell.lruSpread = lruSpread;
      for (const spec of cfg.main.slice(1)) {
        const m = cell.main[spec];
        // a loss beyond noise: worse than LRU under every seed, by more than LRU's own seed spread
        summary.get(spec).push({ workload: w.name, fraction, delta: m.delta, beyondNoise: m.deltaMin > 0 && m.delta > lruSpread });
      }
      rows.push([
        `${fraction * 100}%`,
        pts(cell.main.lru.median),
        pts(lruSpread),
        ...cfg.main.slice(1).map((s) => `${pts(cell.main[s].median)} (${signed(cell.main[s].delta)} [${signed(cell.main[s].deltaMin)}, ${signed(cell.main[s].deltaMax)}])`),
      ]);
      // one segment vs 16
      for (const spec of cfg.main) {
        ctx.progress(`${w.name} ${fraction * 100}%: ${spec}, 1 segment`);
        cell.oneSegment[spec] = simulate(spec, trace, capacity, 1, cfg.seeds[0]);
      }
      segRows.push([`${fraction * 100}%`, ...cfg.main.map((s) => `${pts(cell.oneSegment[s].missRatio)} / ${pts(cell.main[s].median)}`)]);
      // work: re-appends (log copies) per miss, and the most one eviction did
      workRows.push([`${fraction * 100}%`, ...cfg.main.filter((s) => !/^(lru|sieve)/.test(s)).map((s) => {
        const r = cell.main[s].runs[0];
        return `${(r.reinserts / Math.max(1, r.misses)).toFixed(2)} / ${r.maxReinsertRun}`;
      })]);
      // sweeps
      for (const sw of cfg.sweepSkip?.includes(w.name) ? [] : cfg.sweeps) {
        for (const spec of sw.specs) {
          ctx.progress(`${w.name} ${fraction * 100}%: ${spec}`);
          const r = simulate(spec, trace, capacity, cfg.segments, cfg.seeds[0]);
          cell.sweeps[spec] = { ...r, delta: r.missRatio - lru[0].missRatio };
        }
      }
      // the real core, beside the simulator's LRU given the core's own segment choice (under a
      // fixed seed), which the seeded hash above does not reproduce
      if (core.ArenaCache && trace.ids.length <= cfg.coreMaxRequests) {
        const meanSize = trace.sizes ? trace.workingSetBytes / trace.objects : 1;
        cell.simFnv = replay(build('lru', { capacity, universe: trace.objects, segments: cfg.segments, hashOf: coreSegmentHash, meanSize }), trace).missRatio;
        const names = cfg.corePolicies.filter((p) => core.available.get(p));
        if (!names.length) names.push(null); // a build without the policy option: its one policy
        for (const policy of names) {
          ctx.progress(`${w.name} ${fraction * 100}%: core ${policy ?? 'default'}`);
          cell.core[policy ?? 'default'] = await coreReplay(core.ArenaCache, trace, fraction, { policy, valueBytes: cfg.coreValueBytes, segments: cfg.segments });
        }
      }
    }
    report.table(
      `${w.name}: ${trace.note ?? `${trace.ids.length.toLocaleString('en-US')} requests, ${trace.objects.toLocaleString('en-US')} objects${trace.sizes ? ', sized' : ''}`} — miss % (Δ points vs LRU [per-seed min, max])`,
      ['size', 'LRU', 'LRU seed spread', ...cfg.main.slice(1).map(label)],
      rows,
    );
    report.table(`${w.name}: 1 segment / ${cfg.segments} segments, miss %`, ['size', ...cfg.main.map(label)], segRows);
    report.table(`${w.name}: re-appends (log copies) per miss / most in one eviction, ${cfg.segments} segments`, ['size', ...cfg.main.filter((s) => !/^(lru|sieve)/.test(s)).map(label)], workRows);
    for (const sw of cfg.sweepSkip?.includes(w.name) ? [] : cfg.sweeps) {
      report.table(
        `${w.name}: ${sw.title} — Δ points vs LRU (seed ${cfg.seeds[0]})`,
        ['size', ...sw.specs.map(label)],
        wd.cells.map((c) => [`${c.fraction * 100}%`, ...sw.specs.map((s) => signed(c.sweeps[s].delta))]),
      );
    }
    const coreCols = Object.keys(wd.cells[0].core);
    if (coreCols.length) {
      report.table(
        `${w.name}: the real ArenaCache (${cfg.segments} segments, a fixed hash seed), miss % beside the simulator's LRU`,
        ['size', 'sim LRU (seeded hash, median)', 'sim LRU (the core\'s segments)', ...coreCols.map((c) => (c === 'default' ? 'core' : `core ${c}${c === core.defaultPolicy ? ' (default)' : ''}`))],
        wd.cells.map((c) => [`${c.fraction * 100}%`, pts(c.main.lru.median), pts(c.simFnv), ...coreCols.map((k) => `${pts(c.core[k].missRatio)}${c.core[k].refused ? ` (${c.core[k].refused} refused)` : ''}${c.core[k].segmentBudget > 1.01 * c.core[k].targetBudget ? ` (budget ${c.core[k].segmentBudget} B > ${c.core[k].targetBudget} B: the core's smallest segment)` : ''}`)]),
      );
    }
  }

  // Summary: per policy, the worst and mean Δ over every cell.
  const sumRows = [];
  for (const [spec, cells] of summary) {
    if (!cells.length) continue;
    const worst = cells.reduce((a, c) => (c.delta > a.delta ? c : a));
    const best = cells.reduce((a, c) => (c.delta < a.delta ? c : a));
    const mean = cells.reduce((a, c) => a + c.delta, 0) / cells.length;
    const losses = cells.filter((c) => c.beyondNoise);
    sumRows.push([label(spec), signed(mean), `${signed(worst.delta)} (${worst.workload} ${worst.fraction * 100}%)`, `${signed(best.delta)} (${best.workload} ${best.fraction * 100}%)`, `${losses.length} of ${cells.length}${losses.length ? ': ' + losses.map((c) => `${c.workload} ${c.fraction * 100}%`).join(', ') : ''}`]);
  }
  report.table('summary over every workload and size (16 segments): Δ miss points vs LRU', ['policy', 'mean Δ', 'worst Δ (cell)', 'best Δ (cell)', 'losses beyond noise (worse under every seed, by more than LRU\'s seed spread)'], sumRows);
  data.summary = Object.fromEntries([...summary].map(([s, c]) => [s, c]));

  const z = data.workloads.find((w) => w.name === (ctx.quick ? 'zipf-100k' : 'zipf-1m'));
  const zc = z?.cells?.find((c) => c.fraction === 0.1);
  const targets = zc
    ? cfg.main.filter((s) => s !== 'lru').map((s) => ({
        section: 'policies',
        goal: `${label(s)}: Zipf(0.99) ${z.name} at 10%, hit ratio ≥ exact LRU's (16 segments)`,
        value: `${pts(1 - zc.main[s].median)}% vs ${pts(1 - zc.main.lru.median)}% (${signed(-zc.main[s].delta)} points)`,
        reached: zc.main[s].delta <= 0,
      }))
    : [];
  return { status: 'ok', data, report, charts: [], targets };
}
