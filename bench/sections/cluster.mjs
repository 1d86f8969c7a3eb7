// Section cluster: peer fetches as a user makes them, beside Redis. One client member (a Cluster
// in its own process, bench/sections/cluster-client.mjs) fetches keys owned by one other node, an
// `arenacache serve` process; every get is served by the owner over gRPC and every value is
// compared byte for byte. Beside it, in the same rounds: the same client built from an earlier
// commit against an owner of that build ("before"), the current build with unary GetMany calls
// instead of the stream ("unary"), and ioredis GETs against redis-server without and with
// auto-pipelining. Goals: issue 14 (docs/transport.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselineBuild } from '../lib/baseline.mjs';
import { startMember } from '../lib/child.mjs';
import { cliSupport, startCliNode } from '../lib/cli-nodes.mjs';
import { procCpuUs } from '../lib/proc-cpu.mjs';
import { startRedis } from '../lib/redis.mjs';
import { Report } from '../lib/report.mjs';
import { medianOf, roundRobin } from '../lib/round-robin.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtMs, fmtOps, median } from '../lib/stats.mjs';

const CLIENT = fileURLToPath(new URL('./cluster-client.mjs', import.meta.url));
const ORIGIN = fileURLToPath(new URL('../lib/fetch-origin.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The commit before issue 14's lean path: the "before" rows. ARENACACHE_BENCH_BASELINE overrides it. */
export const BASELINE_REF = '9f4e867';

/**
 * Development aids (a full run uses neither): ARENACACHE_BENCH_CLUSTER_MEMBERS=lean,redis runs only
 * those members, ARENACACHE_BENCH_CLUSTER_CELLS=v4k:64,v100:1 only those cells.
 */
const only = (name) => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);

export function config(quick) {
  const cells = only('ARENACACHE_BENCH_CLUSTER_CELLS');
  const all = {
    rounds: quick ? 3 : 7,
    warmup: 1,
    ms: quick ? 300 : 1000,
    groups: [
      { name: 'v100', size: 100, keyCount: 10_000, label: '100 B' },
      { name: 'v4k', size: 4096, keyCount: 2_000, label: '4 KB' },
    ],
    cells: [
      { group: 'v100', inflight: 1 },
      { group: 'v100', inflight: 16 },
      { group: 'v100', inflight: 64 },
      { group: 'v100', inflight: 256 },
      { group: 'v4k', inflight: 64 },
      { group: 'v4k', inflight: 256 },
    ],
  };
  if (cells) all.cells = all.cells.filter((c) => cells.includes(`${c.group}:${c.inflight}`));
  return all;
}

const MEMBERS = [
  { id: 'lean', label: 'arenacache (stream)', kind: 'arena', build: 'current', transport: {} },
  { id: 'unary', label: 'arenacache (unary GetMany)', kind: 'arena', build: 'current', transport: { stream: false } },
  { id: 'before', label: 'arenacache before', kind: 'arena', build: 'baseline', transport: {} },
  { id: 'redis', label: 'Redis + ioredis', kind: 'redis', autoPipelining: false },
  { id: 'redis-auto', label: 'Redis + ioredis (auto-pipelining)', kind: 'redis', autoPipelining: true },
];

/** The owner's config file: one group per value size, values from the origin module. */
function ownerConfig(dir, cfg, grpcPort) {
  const file = join(dir, `owner-${grpcPort}.json`);
  const groups = cfg.groups.map((g) => ({ name: g.name, maxBytes: '64MiB', origin: { type: 'module', path: ORIGIN, options: { size: g.size } } }));
  writeFileSync(file, JSON.stringify({ grpc: { host: '127.0.0.1', port: 0 }, defaultGroup: false, groups }));
  return file;
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  report.heading('cluster — peer fetches from one owner node, beside Redis + ioredis');
  const data = { config: cfg, members: {}, cells: [], unavailable: {} };
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-bench-cluster-'));
  ctx.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const members = [];
  const stops = [];
  let current; // the cell being run
  ctx.onCleanup(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  if (!cliSupport().ok) return { status: 'not-available', reason: cliSupport().reason, data, report, charts: [], targets: [] };

  // Redis, filled by its first member.
  const redis = await startRedis();
  if (redis.ok) {
    stops.push(() => redis.stop());
    data.redis = { version: redis.version };
  } else data.unavailable.redis = redis.reason;

  // The owners: this build, and the baseline's when there is one.
  const builds = { current: { root: ROOT, label: 'this checkout' } };
  const base = baselineBuild(BASELINE_REF, ctx.progress);
  if (base.ok) builds.baseline = { root: base.root, label: base.label };
  else data.unavailable.before = base.reason;
  for (const [name, b] of Object.entries(builds)) {
    ctx.progress(`starting the owner node (${name})`);
    const node = await startCliNode(['--id', `owner-${name}`, '--config', ownerConfig(dir, cfg, name), '--log-level', 'info'], { cli: join(b.root, 'dist/node/cli.js') });
    stops.push(() => node.stop());
    b.owner = node;
  }
  data.builds = Object.fromEntries(Object.entries(builds).map(([k, b]) => [k, b.label]));

  let filled = false;
  const memberIds = only('ARENACACHE_BENCH_CLUSTER_MEMBERS');
  for (const m of MEMBERS.filter((x) => !memberIds || memberIds.includes(x.id))) {
    let arg;
    let ownerPid;
    if (m.kind === 'arena') {
      const b = builds[m.build];
      if (!b) continue;
      arg = { kind: 'arena', id: `client-${m.id}`, root: b.root, owner: { id: b.owner.id, grpcAddress: b.owner.grpcAddress }, transport: m.transport, groups: cfg.groups };
      ownerPid = b.owner.pid;
    } else {
      if (!redis.ok) continue;
      arg = { kind: 'redis', port: redis.port, autoPipelining: m.autoPipelining, fill: !filled, groups: cfg.groups };
      filled = true;
      ownerPid = redis.pid;
    }
    const child = startMember(CLIENT, arg, { execArgv: [], timeoutMs: 180_000 });
    stops.push(async () => {
      await child.call('close', {}, { timeout: 10_000 }).catch(() => {});
      child.close();
    });
    members.push({
      ...m,
      // roundRobin names the scenario; the cell being run is `current`.
      async call(_cmd, { scenario }) {
        const cell = typeof scenario === 'object' ? scenario : current;
        const c0 = procCpuUs(ownerPid);
        const r = await child.call('run', cell);
        return { ...r, ownerCpuUs: procCpuUs(ownerPid) - c0 };
      },
    });
  }
  data.members = Object.fromEntries(members.map((m) => [m.id, m.label]));

  // Prime: the owners load every key once (later rounds read their main caches).
  for (const m of members.filter((x) => x.kind === 'arena' && x.transport.stream === undefined)) {
    for (const g of cfg.groups) {
      ctx.progress(`${m.id}: owner loads the ${g.label} keys`);
      await m.call('run', { scenario: { group: g.name, inflight: 64, ms: Math.max(cfg.ms, g.keyCount / 4) } });
    }
  }

  for (const cell of cfg.cells) {
    const g = cfg.groups.find((x) => x.name === cell.group);
    current = { ...cell, ms: cfg.ms };
    const label = `${g.label} × ${cell.inflight}`;
    const { rounds, errors } = await roundRobin(members, { scenario: label, rounds: cfg.rounds, warmup: cfg.warmup, onProgress: ctx.progress });
    data.cells.push({ ...cell, size: g.size, label, rounds, errors });
  }
  return finish(ctx, cfg, data, report, members);
}

/** Per-round values of `f(row[id], row[ref])` over the rounds where both ran. */
function perRound(rounds, id, ref, f) {
  const out = [];
  for (const row of rounds) if (row[id] && row[ref]) out.push(f(row[id], row[ref]));
  return out.filter((x) => Number.isFinite(x));
}

/** `median (min–max)` of per-round figures. */
function spread(xs, fmt = (x) => x.toFixed(2)) {
  if (xs.length === 0) return { median: NaN, text: '—' };
  const m = median(xs);
  return { median: m, min: Math.min(...xs), max: Math.max(...xs), n: xs.length, text: `${fmt(m)} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` };
}

const perKey = (cpuUs, keys) => (keys > 0 ? cpuUs / keys : NaN);
const fmtUs = (x) => (Number.isFinite(x) ? `${x.toFixed(2)} µs` : 'n/a');

function finish(ctx, cfg, data, report, members) {
  const has = (id) => members.some((m) => m.id === id);
  for (const [what, reason] of Object.entries(data.unavailable)) report.note(`${what}: not measured: ${reason}`);
  report.para(
    `One client member (a Cluster in its own process; hot cache off, no local fallback) fetches keys that one owner node (\`arenacache serve\`, values from an origin module, served from its main cache after a priming pass) holds; every value is compared byte for byte. ` +
      `Members, interleaved in every round (order rotated): ${members.map((m) => m.label).join(', ')}. "before" is the client and owner built from ${data.builds?.baseline ?? 'n/a'}. ` +
      `${cfg.rounds} rounds of ${cfg.ms} ms per cell after ${cfg.warmup} warm-up round. Ratios are the median of per-round ratios with min–max; ` +
      `keys/s, p50 and p99 are medians over rounds; client CPU is the client process's CPU time per key (process.cpuUsage), owner CPU the owner's (arenacache serve or redis-server, from /proc) per key served.`,
  );
  const rows = [];
  const cells = [];
  for (const c of data.cells) {
    const R = c.rounds;
    const cell = { label: c.label, group: c.group, inflight: c.inflight, members: {} };
    for (const m of members) {
      if (!R.some((row) => row[m.id])) continue;
      const st = {
        keysPerSec: medianOf(R, m.id, (x) => x.opsPerSec),
        p50Ms: medianOf(R, m.id, (x) => x.p50Ms),
        p99Ms: medianOf(R, m.id, (x) => x.p99Ms),
        clientUs: medianOf(R, m.id, (x) => perKey(x.cpuUs, x.ops)),
        ownerUs: medianOf(R, m.id, (x) => perKey(x.ownerCpuUs, x.ops)),
        keysPerRpc: m.kind === 'arena' ? medianOf(R, m.id, (x) => (x.rpcs > 0 ? x.ops / x.rpcs : NaN)) : NaN,
        errors: R.reduce((n, row) => n + (row[m.id]?.errors ?? 0), 0),
        firstError: R.map((row) => row[m.id]?.firstError).find(Boolean) ?? null,
        vsRedis: spread(perRound(R, m.id, 'redis', (a, b) => a.opsPerSec / b.opsPerSec)),
        vsRedisAuto: spread(perRound(R, m.id, 'redis-auto', (a, b) => a.opsPerSec / b.opsPerSec)),
        p50MinusRedisUs: spread(perRound(R, m.id, 'redis', (a, b) => (a.p50Ms - b.p50Ms) * 1000), (x) => x.toFixed(0)),
        p99VsRedis: spread(perRound(R, m.id, 'redis', (a, b) => a.p99Ms / b.p99Ms)),
        clientVsBefore: spread(perRound(R, m.id, 'before', (a, b) => perKey(a.cpuUs, a.ops) / perKey(b.cpuUs, b.ops))),
      };
      cell.members[m.id] = st;
      rows.push([
        c.label,
        m.label,
        fmtOps(st.keysPerSec),
        m.id === 'redis' ? '1' : st.vsRedis.text,
        fmtMs(st.p50Ms),
        fmtMs(st.p99Ms),
        m.id === 'redis' ? '1' : st.p99VsRedis.text,
        fmtUs(st.clientUs),
        m.kind === 'arena' && m.id !== 'before' ? st.clientVsBefore.text : '',
        fmtUs(st.ownerUs),
        Number.isFinite(st.keysPerRpc) ? st.keysPerRpc.toFixed(1) : '',
        String(st.errors),
      ]);
      if (st.firstError) report.note(`${c.label} ${m.label}: ${st.errors} errors, first: ${st.firstError}`);
    }
    for (const [id, e] of Object.entries(c.errors ?? {})) report.note(`${c.label} ${id} failed: ${e}`);
    cells.push(cell);
  }
  data.summary = cells;
  report.table(
    'peer fetches vs Redis (× Redis: keys/s ratio to ioredis without auto-pipelining, per round; client CPU × before: per round)',
    ['cell', 'client', 'keys/s', '× Redis', 'p50', 'p99', 'p99 × Redis', 'client CPU/key', 'client CPU × before', 'owner CPU/key', 'keys/RPC', 'errors'],
    rows,
  );

  // --- goals (issue 14) ---
  const targets = [];
  const get = (group, inflight) => cells.find((c) => c.group === group && c.inflight === inflight)?.members ?? {};
  const goal = (goalText, value, reached) => targets.push({ section: 'cluster', goal: goalText, value, reached });
  const lean = (group, inflight) => get(group, inflight).lean;
  const l64 = lean('v100', 64);
  goal('100 B, 64 in flight: ≥ 1× Redis + ioredis GET', l64 ? `${l64.vsRedis.text}×` : 'not measured', l64 && Number.isFinite(l64.vsRedis.median) ? l64.vsRedis.median >= 1 : null);
  goal('100 B, 64 in flight: ≥ 1× Redis with auto-pipelining', l64 ? `${l64.vsRedisAuto.text}×` : 'not measured', l64 && Number.isFinite(l64.vsRedisAuto.median) ? l64.vsRedisAuto.median >= 1 : null);
  const l1 = lean('v100', 1);
  goal('1 in flight (100 B): p50 ≤ Redis p50 + 50 µs', l1 ? `+${l1.p50MinusRedisUs.text} µs` : 'not measured', l1 && Number.isFinite(l1.p50MinusRedisUs.median) ? l1.p50MinusRedisUs.median <= 50 : null);
  const p99s = cells.map((c) => [c.label, c.members.lean?.p99VsRedis]).filter(([, s]) => s && Number.isFinite(s.median));
  goal('p99 ≤ 2× Redis p99 at every depth', p99s.map(([l, s]) => `${l}: ${s.text}×`).join('; ') || 'not measured', p99s.length ? p99s.every(([, s]) => s.median <= 2) : null);
  const l4 = lean('v4k', 64);
  goal('4 KB, 64 in flight: ≥ 1× Redis', l4 ? `${l4.vsRedis.text}×` : 'not measured', l4 && Number.isFinite(l4.vsRedis.median) ? l4.vsRedis.median >= 1 : null);
  const cpus = cells.map((c) => [c.label, c.members.lean?.clientVsBefore]).filter(([, s]) => s && Number.isFinite(s.median));
  goal('client CPU per fetched key at least halved (÷ before, every cell)', cpus.map(([l, s]) => `${l}: ${s.text}×`).join('; ') || 'not measured', cpus.length ? cpus.every(([, s]) => s.median <= 0.5) : null);
  const owners = cells.map((c) => `${c.label}: ${fmtUs(c.members.lean?.ownerUs)} (before ${fmtUs(c.members.before?.ownerUs)}, redis-server ${fmtUs(c.members.redis?.ownerUs)})`);
  targets.push({ section: 'cluster', goal: 'owner CPU per fetched key (reported)', value: owners.join('; '), info: true });

  const panels = cells.map((c) => ({
    title: `${c.label} in flight — keys/s`,
    bars: members.map((m) => ({ label: m.label, value: c.members[m.id]?.keysPerSec ?? NaN, kind: m.id === 'lean' ? 'highlight' : m.kind === 'redis' ? 'reference' : 'other' })),
    format: fmtOps,
  }));
  const charts = [{ name: 'cluster', alt: 'peer fetches vs Redis', svg: barChart({ title: 'cluster — peer fetches from one owner vs Redis + ioredis GET', subtitle: ctx.subtitle, panels, legend: [['highlight', 'arenacache'], ['reference', 'Redis'], ['other', 'other variants']] }) }];
  const complete = has('lean') && has('redis') && has('before');
  return { status: complete ? 'ok' : 'partial', reason: complete ? undefined : Object.values(data.unavailable).join('; '), data, report, charts, targets };
}
