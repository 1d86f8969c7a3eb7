// Section 5, ring: share of keys that move when a node joins or leaves, vs the ideal 1/n.
import { clusterSupport } from '../lib/nodes.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtPct, fmtRatio, fmtOps, summarize } from '../lib/stats.mjs';

export function config(quick) {
  return { keys: quick ? 20_000 : 200_000, sizes: [3, 5, 10], reps: 3 };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const sup = await clusterSupport();
  if (!sup.ok) return { status: 'not-available', reason: `the cluster's ring (src/cluster/ring.ts): ${sup.reason}`, data: null, report: null, charts: [], targets: [] };
  const { Ring } = sup.mod;
  const node = (i) => ({ id: `node-${i}`, grpcAddress: `127.0.0.1:${7000 + i}` });
  const keys = Array.from({ length: cfg.keys }, (_, i) => 'key:' + i);
  const owners = (ring) => keys.map((k) => ring.owner(k).id);
  const report = new Report();
  report.heading('ring — keys moved when a node joins or leaves');
  const rows = [];
  const cases = [];
  for (const n of cfg.sizes) {
    ctx.progress(`${n} nodes`);
    const base = Array.from({ length: n }, (_, i) => node(i + 1));
    const ring = new Ring(base);
    const before = owners(ring);
    // balance: each node's share of the keys vs 1/n
    const share = new Map(base.map((b) => [b.id, 0]));
    for (const o of before) share.set(o, share.get(o) + 1);
    const shares = [...share.values()].map((c) => (c / keys.length) * n);
    // join
    const joined = new Ring([...base, node(n + 1)]);
    const afterJoin = owners(joined);
    let moved = 0;
    let movedElsewhere = 0;
    for (let i = 0; i < keys.length; i++) {
      if (afterJoin[i] !== before[i]) {
        moved++;
        if (afterJoin[i] !== `node-${n + 1}`) movedElsewhere++;
      }
    }
    const join = { moved: moved / keys.length, ideal: 1 / (n + 1), onlyToNewNode: movedElsewhere === 0 };
    // leave: each node in turn
    const leaves = [];
    let leaveStray = 0;
    for (const gone of base) {
      const after = owners(new Ring(base.filter((b) => b.id !== gone.id)));
      let m = 0;
      for (let i = 0; i < keys.length; i++) {
        if (after[i] !== before[i]) {
          m++;
          if (before[i] !== gone.id) leaveStray++;
        }
      }
      leaves.push(m / keys.length);
    }
    const leave = { moved: leaves.reduce((a, x) => a + x, 0) / leaves.length, min: Math.min(...leaves), max: Math.max(...leaves), ideal: 1 / n, onlyFromLeavingNode: leaveStray === 0 };
    // lookups per second
    const lookups = [];
    for (let r = 0; r < cfg.reps + 1; r++) {
      const t = performance.now();
      let x = 0;
      for (let i = 0; i < keys.length; i++) x += ring.owner(keys[i]).id.length;
      if (r) lookups.push((keys.length / (performance.now() - t)) * 1000 + 0 * x);
    }
    const c = { nodes: n, replicas: ring.replicas, vnodes: ring.size, join, leave, shareMin: Math.min(...shares), shareMax: Math.max(...shares), lookupsPerSec: summarize(lookups) };
    cases.push(c);
    rows.push([
      String(n),
      `${fmtPct(join.moved)} (ideal ${fmtPct(join.ideal)}, ${fmtRatio(join.moved / join.ideal)})`,
      join.onlyToNewNode ? 'yes' : 'no',
      `${fmtPct(leave.moved)} (ideal ${fmtPct(leave.ideal)}, ${fmtRatio(leave.moved / leave.ideal)}; ${fmtPct(leave.min, 1)}–${fmtPct(leave.max, 1)})`,
      leave.onlyFromLeavingNode ? 'yes' : 'no',
      `${fmtRatio(c.shareMin)} – ${fmtRatio(c.shareMax)}`,
      fmtOps(c.lookupsPerSec.median),
    ]);
  }
  report.para(`${cfg.keys.toLocaleString('en-US')} keys 'key:<i>'; the cluster's Ring with its default ${cases[0].replicas} virtual nodes per node. Leave = each node removed in turn (mean, min–max).`);
  report.table('keys moved', ['nodes', 'join: moved (vs ideal 1/(n+1))', 'only to the new node', 'leave: moved (vs ideal 1/n)', 'only the leaving node\'s', 'share per node (× fair)', 'owner() lookups'], rows);
  const panels = [
    { title: 'keys moved when a node joins (ideal 1/(n+1) = dashed bar)', bars: cases.flatMap((c) => [{ label: `${c.nodes}→${c.nodes + 1} nodes`, value: c.join.moved, kind: 'highlight' }, { label: `ideal 1/${c.nodes + 1}`, value: c.join.ideal, kind: 'reference' }]), format: (v) => fmtPct(v, 1) },
    { title: 'keys moved when a node leaves (mean over which node)', bars: cases.flatMap((c) => [{ label: `${c.nodes}→${c.nodes - 1} nodes`, value: c.leave.moved, kind: 'highlight' }, { label: `ideal 1/${c.nodes}`, value: c.leave.ideal, kind: 'reference' }]), format: (v) => fmtPct(v, 1) },
  ];
  const charts = [{ name: 'ring', alt: 'ring: keys moved on join/leave', svg: barChart({ title: 'ring — keys moved on join and leave vs ideal', subtitle: ctx.subtitle, panels }) }];
  const c3 = cases.find((c) => c.nodes === 3) ?? cases[0];
  const targets = [
    {
      section: 'ring',
      goal: 'keys moved on join/leave vs the ideal 1/n (reported, no numeric goal)',
      value: cases.map((c) => `${c.nodes} nodes: join ${fmtPct(c.join.moved, 1)} vs ${fmtPct(c.join.ideal, 1)}, leave ${fmtPct(c.leave.moved, 1)} vs ${fmtPct(c.leave.ideal, 1)}`).join('; ') + `; only the joining/leaving node's keys move: ${cases.every((c) => c.join.onlyToNewNode && c.leave.onlyFromLeavingNode) ? 'yes' : 'no'}`,
      reached: null,
      info: true,
    },
  ];
  void c3;
  return { status: 'ok', data: { config: cfg, cases }, report, charts, targets };
}
