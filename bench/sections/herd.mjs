// Section 4, herd: 1,000 concurrent gets of one missing key spread over 3 nodes. How many times
// does the origin (the group's loader) run, and how long until every caller has its value?
import { clusterSupport, startNodes } from '../lib/nodes.mjs';
import { Report } from '../lib/report.mjs';
import { barChart } from '../lib/svg.mjs';
import { fmtMs, median } from '../lib/stats.mjs';

export function config(quick) {
  return { callers: 1000, nodes: 3, loadDelayMs: 20, reps: 3, warmup: 1, quick };
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  report.heading('herd — 1,000 concurrent gets of one missing key over 3 nodes');
  const sup = await clusterSupport();
  if (!sup.ok) {
    return { status: 'not-available', reason: sup.reason, data: { config: cfg }, report: null, charts: [], targets: [{ section: 'herd', goal: 'origin loads for 1,000 concurrent gets of one missing key = exactly 1', value: `not measured: ${sup.reason}`, reached: null }] };
  }
  const ids = Array.from({ length: cfg.nodes }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  ctx.progress(`starting ${cfg.nodes} nodes`);
  const cluster = await startNodes(ids, { herdDelayMs: cfg.loadDelayMs });
  ctx.onCleanup(() => cluster.close());
  const rounds = [];
  try {
    for (let r = 0; r < cfg.warmup + cfg.reps; r++) {
      ctx.progress(`${r < cfg.warmup ? 'warm-up' : `round ${r - cfg.warmup + 1}/${cfg.reps}`}: ${cfg.callers} callers`);
      const key = `herd-${Date.now().toString(36)}-${r}`;
      const before = await Promise.all(cluster.nodes.map((n) => n.call({ cmd: 'stats' }, 'stats')));
      const per = cluster.nodes.map((_, i) => Math.floor(cfg.callers / cfg.nodes) + (i < cfg.callers % cfg.nodes ? 1 : 0));
      const res = await Promise.all(cluster.nodes.map((n, i) => n.call({ cmd: 'herd', group: 'herd', key, count: per[i] }, 'herded', 60_000)));
      const after = await Promise.all(cluster.nodes.map((n) => n.call({ cmd: 'stats' }, 'stats')));
      const loads = after.reduce((a, s, i) => a + (s.data.loads.herd ?? 0) - (before[i].data.loads.herd ?? 0), 0);
      const sources = {};
      for (const x of res) for (const [k, v] of Object.entries(x.data.sources)) sources[k] = (sources[k] ?? 0) + v;
      const round = {
        key,
        loads,
        ms: Math.max(...res.map((x) => x.data.end)) - Math.min(...res.map((x) => x.data.start)),
        served: res.reduce((a, x) => a + x.data.ok, 0),
        errors: res.reduce((a, x) => a + x.data.errors, 0),
        firstError: res.find((x) => x.data.firstError)?.data.firstError ?? null,
        sources,
        perNodeMs: res.map((x) => x.data.end - x.data.start),
      };
      if (r >= cfg.warmup) rounds.push(round);
    }
  } finally {
    ctx.progress('closing nodes');
    await cluster.close();
  }
  const ms = median(rounds.map((x) => x.ms));
  const maxLoads = Math.max(...rounds.map((x) => x.loads));
  report.para(
    `${cfg.callers} callers spread evenly over ${cfg.nodes} node processes ask for the same missing key at once; the loader (the origin) takes ${cfg.loadDelayMs} ms. ` +
      `Each round uses a fresh key; time = first call issued to last caller answered (across processes); median of ${cfg.reps} rounds after ${cfg.warmup} warm-up.`,
  );
  report.table(
    'rounds',
    ['round', 'origin loads', 'callers served', 'errors', 'time to serve all', 'over the load time', 'answered from'],
    rounds.map((x, i) => [String(i + 1), String(x.loads), String(x.served), String(x.errors), fmtMs(x.ms), fmtMs(x.ms - cfg.loadDelayMs), Object.entries(x.sources).map(([k, v]) => `${k} ${v}`).join(', ')]),
  );
  for (const x of rounds) if (x.firstError) report.note(`round error: ${x.firstError}`);
  const charts = [
    {
      name: 'herd',
      alt: 'herd: time to serve 1,000 callers',
      svg: barChart({
        title: 'herd — 1,000 concurrent gets of one missing key, 3 nodes',
        subtitle: ctx.subtitle,
        panels: [
          { title: 'time to serve every caller (ms), per round', bars: rounds.map((x, i) => ({ label: `round ${i + 1} (${x.loads} load${x.loads === 1 ? '' : 's'})`, value: x.ms, kind: 'highlight' })), format: fmtMs, goal: { value: cfg.loadDelayMs, label: `origin latency ${cfg.loadDelayMs} ms` } },
        ],
      }),
    },
  ];
  const targets = [
    { section: 'herd', goal: 'origin loads for 1,000 concurrent gets of one missing key = exactly 1', value: `${rounds.map((x) => x.loads).join(', ')} load(s) per round; all ${cfg.callers} callers served in ${fmtMs(ms)} (median; origin takes ${cfg.loadDelayMs} ms)`, reached: rounds.every((x) => x.loads === 1 && x.served === cfg.callers) },
  ];
  return { status: 'ok', data: { config: cfg, rounds, medianMs: ms, maxLoads }, report, charts, targets };
}
