// Section 1, core: ArenaCache beside the in-process LRU caches of npm, interleaved in rounds.
// Each library lives in its own long-lived child (core-child.mjs); for each scenario every child
// sets up its cache, then the round-robin driver runs round r on every library before round r+1.
// Every figure is a per-round ratio to lru-cache: median, min–max and the number of rounds.
import { fileURLToPath } from 'node:url';
import { startMember } from '../lib/child.mjs';
import { roundRobin, ratio, medianOf } from '../lib/round-robin.mjs';
import { DEFAULT_IDS, peerById } from '../lib/peers.mjs';
import { loadArenaCache, arenaFeatures } from '../lib/arena.mjs';
import { zipfTrace, strictLruHits } from '../lib/prng.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtOps, fmtNum, fmtMs, fmtPct, fmtBytes, median } from '../lib/stats.mjs';
import { SCENARIOS, opsPerRun } from './core-scenarios.mjs';

const CHILD = fileURLToPath(new URL('./core-child.mjs', import.meta.url));
const REF = 'lru-cache';
const ARENA = 'arenacache';

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
    rounds: quick ? 5 : 7,
    warmup: 1,
    seed: 20240601,
    zipf: { theta: 0.99, capacityFraction: 0.1 },
  };
}

/**
 * The members: one per library, then one per ArenaCache variant this build supports (found at
 * run time): a borrowing read (getInto, getView) on the scenarios that read values, and each
 * eviction policy other than the default on every scenario.
 */
async function participants(libs) {
  const list = libs.map((id) => ({ id, lib: id, label: peerById(id).label, scenarios: null }));
  if (!libs.includes(ARENA)) return { list, features: null };
  const loaded = await loadArenaCache();
  if (!loaded.ok) return { list, features: null };
  const f = await arenaFeatures(loaded.ArenaCache);
  const reads = SCENARIOS.filter((s) => s.reads).map((s) => s.id);
  for (const read of ['getInto', 'getView']) {
    if (f[read]) list.push({ id: `${ARENA}+${read}`, lib: ARENA, label: `ArenaCache ${read}`, variant: { read }, scenarios: reads });
  }
  for (const p of f.policies) {
    if (p !== f.defaultPolicy) list.push({ id: `${ARENA}+${p}`, lib: ARENA, label: `ArenaCache ${p}`, variant: { options: { policy: p } }, scenarios: null });
  }
  return { list, features: f };
}

async function runShape(ctx, cfg, shape, parts, features) {
  const members = [];
  const res = { hello: {}, unavailable: {}, scenarios: {} };
  const timeoutMs = ctx.quick ? 180_000 : 900_000;
  for (const p of parts) {
    const m = startMember(CHILD, { lib: p.lib, variant: p.variant, entries: shape.entries, valueBytes: shape.valueBytes, seed: cfg.seed, zipf: cfg.zipf, quick: ctx.quick, maxEntries: !!features?.maxEntries }, { onProgress: (t) => ctx.progress(`${shape.label} ${p.label}: ${t}`), timeoutMs });
    try {
      res.hello[p.id] = await m.call('hello');
      members.push({ ...p, call: m.call, close: m.close, holding: false });
    } catch (e) {
      res.unavailable[p.id] = e.message.split('\n')[0];
      m.close();
    }
  }
  try {
    for (const sc of SCENARIOS) {
      const inIt = members.filter((m) => !m.scenarios || m.scenarios.includes(sc.id));
      for (const m of members) {
        // a member that sits this scenario out lets go of its cache: six full caches are enough
        if (!inIt.includes(m) && m.holding) await m.call('drop').catch(() => {});
        if (!inIt.includes(m)) m.holding = false;
      }
      const setup = {};
      const errors = {};
      const live = [];
      for (const m of inIt) {
        ctx.progress(`${shape.label} ${sc.id}: setting up ${m.label}`);
        try {
          setup[m.id] = await m.call('setup', { scenario: sc.id, rounds: cfg.warmup + cfg.rounds });
          m.holding = true;
          live.push(m);
        } catch (e) {
          errors[m.id] = e.message.split('\n')[0];
        }
      }
      const rr = await roundRobin(live, { scenario: sc.id, rounds: cfg.rounds, warmup: cfg.warmup, onProgress: (t) => ctx.progress(`${shape.label} ${t}`) });
      res.scenarios[sc.id] = { setup, rounds: rr.rounds, errors: { ...errors, ...rr.errors }, members: live.map((m) => m.id) };
    }
  } finally {
    for (const m of members) m.close();
  }
  return res;
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const libs = ctx.libs ?? DEFAULT_IDS;
  const { list: parts, features } = await participants(libs);
  const data = { config: cfg, features, participants: parts.map(({ id, label, variant, scenarios }) => ({ id, label, variant, scenarios })), shapes: [] };
  const report = new Report();
  const charts = [];
  const targets = [];
  const summary = [];
  report.heading('core — in-process caches, interleaved in rounds');
  report.para(
    `Each library runs in its own long-lived child process. For each scenario every child sets up its cache, then round r runs the scenario once on every library ` +
      `(the order rotating by one each round) before round r+1 starts; ${cfg.warmup} warm-up round is dropped. A ratio is taken inside a round (lru-cache's time per operation ÷ the library's: ` +
      `above 1 is faster than lru-cache) and each cell gives the median of the ${cfg.rounds} per-round ratios and their min–max. Keys are 'key:<i>' strings built in the timed loop ` +
      `unless the row says otherwise; random order; a distinct Uint8Array per entry; the caller reads each value's first and last byte. ` +
      `ArenaCache's byte budget is sized from ArenaCache.entrySize and its reported segment budgets so that it holds the same number of entries as the count-bounded peers.`,
  );
  if (features) {
    report.para(
      `This build of ArenaCache: getInto ${features.getInto ? 'yes' : 'no'}, getView ${features.getView ? 'yes' : 'no'}, maxEntries ${features.maxEntries ? 'yes' : 'no'}, ` +
        `policies ${features.policies.length ? features.policies.join(', ') + ` (default ${features.defaultPolicy})` : 'not selectable (segmented exact LRU)'}.`,
    );
  }
  for (const shape of cfg.shapes) {
    const res = await runShape(ctx, cfg, shape, parts, features);
    data.shapes.push({ ...shape, ...res });
    render(report, charts, targets, summary, cfg, shape, res, parts, ctx);
  }
  const ok = data.shapes.some((s) => s.scenarios['get-built']?.members.includes(ARENA));
  return { status: ok ? 'ok' : 'partial', data, report, charts, targets, summary: { title: 'Wins and losses: ArenaCache vs lru-cache, interleaved rounds', ...summaryTable(summary) } };
}

// ------------------------------------------------------------------------------------------------
// Rendering

const fmtX = (x) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(0) : x.toFixed(2)) + '×' : '—');
const cell = (r) => (r.n ? `${fmtX(r.median)} (${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)})` : 'n/a');
const verdict = (r) => (!r.n ? '' : r.min > 1 ? 'win' : r.max < 1 ? 'loss' : 'within spread');
const opsPerSec = (x) => (x.ops / x.ms) * 1000;

function render(report, charts, targets, summary, cfg, shape, res, parts, ctx) {
  const label = (id) => parts.find((p) => p.id === id)?.label ?? id;
  const others = parts.filter((p) => p.id !== REF && !res.unavailable[p.id]);
  const full = shape.entries >= 1_000_000 || (shape.valueBytes >= 4096 && shape.entries >= 200_000);
  report.heading(`core ${shape.label}`);
  for (const [id, why] of Object.entries(res.unavailable)) report.note(`${label(id)}: not available: ${why}`);

  // 1. ratios
  const rows = [];
  for (const sc of SCENARIOS) {
    const x = res.scenarios[sc.id];
    if (!x) continue;
    const refAbs = sc.id === 'gc-full' ? fmtMs(medianOf(x.rounds, REF, (r) => r.ms)) : fmtOps(medianOf(x.rounds, REF, opsPerSec));
    const cells = others.map((p) => {
      if (x.errors[p.id]) return 'failed';
      if (!x.members.includes(p.id)) return '';
      const r = ratio(x.rounds, p.id, REF);
      return r.n < x.rounds.length ? `${cell(r)} n=${r.n}` : cell(r);
    });
    rows.push([sc.label, x.rounds.length, refAbs, ...cells]);
    for (const [id, e] of Object.entries(x.errors)) report.note(`${sc.id}, ${label(id)}: ${e}`);
    checkValues(report, sc, x, label, shape.entries);
  }
  report.table(
    `speed relative to lru-cache per round: median (min–max) of ${cfg.rounds} rounds; > 1 = faster`,
    ['scenario', 'rounds', 'lru-cache (ops/s; GC: ms)', ...others.map((p) => p.label)],
    rows,
  );
  for (const sc of SCENARIOS) if (sc.note) report.para(`*${sc.label}*: ${sc.note}.`);
  if (parts.some((p) => p.id === 'quick-lru')) report.para('quick-lru keeps between maxSize and 2 × maxSize entries (two generations): configured with maxSize = the capacity, as a user would, so it holds more than the others in the Zipf and eviction rows.');

  // 2. hit ratios
  const z = res.scenarios.zipf;
  if (z) {
    const N = shape.entries;
    const OPS = opsPerRun(ctx.quick);
    const C = Math.round(N * cfg.zipf.capacityFraction);
    const total = cfg.warmup + cfg.rounds;
    const trace = zipfTrace(N + total * OPS, N, cfg.zipf.theta, cfg.seed + 3);
    const lruRef = strictLruHits(trace, C, N, N + cfg.warmup * OPS) / (cfg.rounds * OPS);
    const hitRatio = (id) => {
      const rr = z.rounds.filter((r) => r[id]);
      return rr.reduce((a, r) => a + r[id].hits, 0) / rr.reduce((a, r) => a + r[id].ops, 0);
    };
    const mix = res.scenarios.mixed;
    report.table(
      `hit ratios (timed rounds; Zipf(${cfg.zipf.theta}) over ${N.toLocaleString('en-US')} keys, capacity ${C.toLocaleString('en-US')}, warmed by ${N.toLocaleString('en-US')} accesses)`,
      ['library', 'policy', 'Zipf hit ratio', 'Δ vs exact LRU (points)', 'entries held', '90/10 get hit ratio', 'entries held (90/10)'],
      [
        ['exact strict LRU (simulation)', 'strict LRU', fmtPct(lruRef), '0.00', C.toLocaleString('en-US'), '', ''],
        ...parts
          .filter((p) => z.members.includes(p.id))
          .map((p) => {
            const h = hitRatio(p.id);
            const mr = mix?.members.includes(p.id) ? mix.rounds.filter((r) => r[p.id]).map((r) => r[p.id]) : [];
            const mh = median(mr.map((r) => r.hitRatio));
            const pol = p.variant?.options?.policy ?? (p.lib === ARENA ? 'default' : peerById(p.lib).policy);
            return [p.label, pol, fmtPct(h), fmtNum((h - lruRef) * 100, 2), z.setup[p.id]?.info?.entriesHeld?.toLocaleString('en-US') ?? '', fmtPct(mh), mr.at(-1)?.size?.toLocaleString('en-US') ?? ''];
          }),
      ],
    );
    const a = z.members.includes(ARENA) ? ratio(z.rounds, ARENA, REF) : null;
    if (a) {
      const h = hitRatio(ARENA);
      targets.push({ section: 'core', goal: `Zipf(0.99) read-through at 10%, warmed, ≥ 1.5× lru-cache with hit ratio ≥ exact LRU (${shape.label})`, value: `${cell(a)} over ${a.n} rounds; hit ratio ${fmtPct(h)} vs exact LRU ${fmtPct(lruRef)}${full ? '' : ' (quick size)'}`, reached: a.median >= 1.5 && h >= lruRef });
    }
  }

  // 3. memory and GC
  const g = res.scenarios['gc-full'];
  const m = res.scenarios.mixed;
  if (g) {
    report.table(
      'memory and GC (memory: Δ(heapUsed + external) after a forced GC ÷ entries, on a cache filled with fresh keys and values)',
      ['library', 'bytes/entry', '× payload', 'RSS/entry', 'forced full GC, full cache', 'forced GC, empty process', '90/10: GC time per round / longest pause'],
      parts
        .filter((p) => g.members.includes(p.id))
        .map((p) => {
          const info = g.setup[p.id]?.info ?? {};
          const gc = medianOf(g.rounds, p.id, (r) => r.ms);
          const mixGc = m?.members.includes(p.id) ? `${fmtMs(medianOf(m.rounds, p.id, (r) => r.gcMs))} / ${fmtMs(Math.max(...m.rounds.filter((r) => r[p.id]).map((r) => r[p.id].gcMaxMs)))}` : '';
          return [p.label, `${fmtNum(info.bytesPerEntry, 0)} B`, fmtX(info.overPayload), `${fmtNum(info.rssPerEntry, 0)} B`, fmtMs(gc), fmtMs(res.hello[p.id]?.forcedGcEmptyMs), mixGc];
        }),
    );
    const ai = g.setup[ARENA]?.info;
    if (ai) {
      report.para(
        `Payload per entry: ${fmtNum(ai.payloadPerEntry, 1)} B (mean UTF-8 key bytes + value bytes). arrayBuffers is part of external and is not added twice; ` +
          `ArenaCache's wasm memory ${ai.wasmAddedExplicitly ? 'did not show in external, so stats().memoryBytes was added' : 'shows in external'}. ` +
          `RSS/entry includes allocator overhead the V8 counters miss. ArenaCache: stats().memoryBytes ${fmtBytes(ai.arena?.memoryBytes)}, charged ${fmtNum(ai.arena?.bytesUsedPerEntry, 1)} B per entry.`,
      );
      const sizing = g.setup[ARENA]?.sizing ?? [];
      const zs = res.scenarios.zipf?.setup[ARENA]?.sizing ?? [];
      const all = [...sizing, ...zs].filter((v, i, arr) => arr.findIndex((w) => w.mode === v.mode && w.target === v.target) === i);
      report.para(`ArenaCache sizing (${res.hello[ARENA]?.from}): ${all.map((z2) => `${z2.mode} ${z2.target.toLocaleString('en-US')} → maxBytes ${z2.maxBytes.toLocaleString('en-US')} (${fmtBytes(z2.maxBytes)}${z2.bound === 'maxEntries' ? ', maxEntries ' + (z2.maxEntries ?? z2.target).toLocaleString('en-US') : ''}), held ${z2.entries.toLocaleString('en-US')}`).join('; ')}.`);
      if (shape.valueBytes === 100) targets.push({ section: 'core', goal: `bytes per entry ≤ 1.25× payload (${shape.label})`, value: `${fmtNum(ai.bytesPerEntry, 0)} B = ${fmtX(ai.overPayload)} of ${fmtNum(ai.payloadPerEntry, 1)} B`, reached: ai.overPayload <= 1.25 });
      const gr = ratio(g.rounds, ARENA, REF);
      const gms = medianOf(g.rounds, ARENA, (r) => r.ms);
      targets.push({ section: 'core', goal: `forced full GC with the cache full ≤ 10 ms (${shape.label})`, value: `${fmtMs(gms)} (${cell(gr)} faster than lru-cache's ${fmtMs(medianOf(g.rounds, REF, (r) => r.ms))})`, reached: gms <= 10 });
    }
  }

  // 4. summary rows, targets and chart
  const add = (sc, id, name) => {
    const x = res.scenarios[sc.id];
    if (!x?.members.includes(id)) return;
    const r = ratio(x.rounds, id, REF);
    const best = parts
      .filter((p) => p.lib !== ARENA && p.id !== REF && x.members.includes(p.id))
      .map((p) => ({ p, r: ratio(x.rounds, p.id, REF) }))
      .filter((b) => b.r.n)
      .sort((u, v) => v.r.median - u.r.median)[0];
    summary.push([shape.label, name ?? sc.label, fmtX(r.median), r.n ? `${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)}` : '', r.n, verdict(r), best ? `${best.p.label} ${fmtX(best.r.median)}` : '']);
  };
  for (const sc of SCENARIOS) {
    add(sc, ARENA);
    for (const p of parts) if (p.lib === ARENA && p.id !== ARENA && (sc.reads || p.variant?.options)) add(sc, p.id, `${sc.label} — ${p.label}`);
  }
  const ai = g?.setup[ARENA]?.info;
  const li = g?.setup[REF]?.info;
  if (ai && li) {
    const r = li.bytesPerEntry / ai.bytesPerEntry;
    summary.push([shape.label, `memory per entry (${fmtNum(ai.bytesPerEntry, 0)} B vs ${fmtNum(li.bytesPerEntry, 0)} B)`, fmtX(r), '', 1, r > 1 ? 'win' : 'loss', '']);
  }

  const gb = res.scenarios['get-built'];
  if (gb?.members.includes(ARENA) && shape.valueBytes === 100) {
    const r = ratio(gb.rounds, ARENA, REF);
    const rm = gb.members.includes('mnemonist-lrucache') ? ratio(gb.rounds, ARENA, 'mnemonist-lrucache') : { n: 0 };
    targets.push({ section: 'core', goal: `get, key built per call, value read ≥ 2× lru-cache and ≥ 2× mnemonist (${shape.label})`, value: `${cell(r)} vs lru-cache, ${cell(rm)} vs mnemonist, ${r.n} rounds${full ? '' : ' (quick size)'}`, reached: r.median >= 2 && rm.median >= 2 });
    const gs = res.scenarios['get-same'];
    const s = ratio(gs.rounds, ARENA, REF);
    targets.push({ section: 'core', goal: `get with the inserted key objects ≥ 1× lru-cache (${shape.label})`, value: `${cell(s)}, ${s.n} rounds`, reached: s.median >= 1 });
  }
  if (gb && shape.valueBytes >= 4096) {
    const reads = parts.filter((p) => p.lib === ARENA && !p.variant?.options && gb.members.includes(p.id)).map((p) => ({ p, r: ratio(gb.rounds, p.id, REF) }));
    if (reads.length) {
      const best = reads.sort((u, v) => v.r.median - u.r.median)[0];
      targets.push({ section: 'core', goal: `4 KB get, value read by the caller, ≥ 1× lru-cache (${shape.label})`, value: reads.map((x) => `${x.p.label} ${cell(x.r)}`).join('; ') + ` (${best.r.n} rounds)`, reached: best.r.median >= 1 });
    }
  }
  charts.push(coreChart(shape, res, ctx.subtitle));
}

/**
 * One bar per scenario: ArenaCache's median ratio to lru-cache, with its min–max in the label.
 * The forced GC row is left out: its ratio (tens ×) would flatten every other bar; the tables have it.
 */
export function coreChart(shape, res, subtitle) {
  const bars = SCENARIOS.filter((sc) => sc.id !== 'gc-full' && res.scenarios[sc.id]?.members.includes(ARENA)).map((sc) => {
    const r = ratio(res.scenarios[sc.id].rounds, ARENA, REF);
    return { label: `${sc.short} (${fmtX(r.min).slice(0, -1)}–${fmtX(r.max)})`, value: r.median, kind: r.min > 1 ? 'highlight' : r.max < 1 ? 'reference' : 'other' };
  });
  const tag = shape.valueBytes >= 1024 ? shape.valueBytes / 1024 + 'KB' : shape.valueBytes + 'B';
  const title = `ArenaCache ÷ lru-cache, ${shape.label}: median of ${res.scenarios['get-built']?.rounds.length ?? '?'} per-round ratios`;
  return { name: `core-${tag}`, alt: `ArenaCache vs lru-cache, ${shape.label}`, svg: barChart({
      title,
      subtitle,
      labelW: 270,
      panels: [{ title: 'speed relative to lru-cache (min–max of the rounds beside the name)', bars, format: fmtX, goal: { value: 1, label: 'lru-cache' } }],
      legend: [['highlight', 'faster in every round'], ['other', 'within the spread'], ['reference', 'slower in every round']],
    }) };
}

/** Every library answered the same operations: same hits, same bytes read (where policy cannot differ), full cold fills. */
function checkValues(report, sc, x, label, N) {
  const bad = new Set();
  for (const row of x.rounds) {
    const ids = Object.keys(row);
    for (const id of ids) {
      const r = row[id];
      if (sc.id === 'set-cold' && r.filled !== N) bad.add(`${label(id)} kept ${r.filled} of ${N} entries`);
      if (sc.id === 'get-miss' ? r.hits !== 0 : sc.sameSink && r.hits !== r.ops) bad.add(`${label(id)}: ${r.hits} hits of ${r.ops}`);
      if (sc.sameSink && r.sink !== row[ids[0]].sink) bad.add(`${label(id)} read other bytes than ${label(ids[0])}`);
    }
  }
  for (const b of bad) report.note(`${sc.id}: ${b}`);
}

function summaryTable(rows) {
  return {
    headers: ['shape', 'scenario', 'ArenaCache ÷ lru-cache', 'min–max', 'rounds', 'verdict', 'fastest other library'],
    rows,
    note: 'Speed relative to lru-cache measured in the same round (its time per operation ÷ ArenaCache’s): median over the rounds, min–max of the per-round ratios. "win" = every round above 1, "loss" = every round below 1, else within the spread.',
  };
}

