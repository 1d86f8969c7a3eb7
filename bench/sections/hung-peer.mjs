// Section hung-peer: one of three nodes is SIGSTOPped for 20 s under a closed-loop load of 32
// gets in flight through the two live nodes (real `arenacache serve` processes), with static
// --peers and with etcd. Per second: completed requests, p50/p99/max latency, wrong answers.
// Goals (issue 13): after the first 2 s of the pause no second without a completed request,
// p99 below 1 s from then on, no wrong value.
import { createServer } from 'node:http';
import { cliSupport, etcdSupport, freePort, startCliNode, startEtcd } from '../lib/cli-nodes.mjs';
import { Report } from '../lib/report.mjs';
import { percentile } from '../lib/stats.mjs';

export function config(quick) {
  return { inflight: 32, keys: 1000, warmupS: quick ? 3 : 5, pauseS: quick ? 10 : 20, afterS: quick ? 3 : 5, graceS: 2, quick };
}

async function startOrigin() {
  const server = createServer((req, res) => res.end(`origin:${decodeURIComponent((req.url ?? '').slice(1))}`));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

/** Closed loop through `targets` until `stopAt` (performance.now ms); every answer is checked. */
async function load(targets, cfg, stopAt, samples) {
  let i = 0;
  const caller = async () => {
    while (performance.now() < stopAt) {
      const t = targets[i++ % targets.length];
      const key = `hp${Math.floor(Math.random() * cfg.keys)}`;
      const t0 = performance.now();
      let ok = false;
      try {
        const res = await fetch(`${t.url}/v1/groups/default/keys/${key}`, { signal: AbortSignal.timeout(30_000) });
        ok = res.status === 200 && (await res.text()) === `origin:${key}`;
      } catch {}
      const t1 = performance.now();
      samples.push({ at: t1, ms: t1 - t0, ok });
    }
  };
  await Promise.all(Array.from({ length: cfg.inflight }, caller));
}

async function runMode(mode, cfg, ctx, origin) {
  const nodes = [];
  let etcd;
  try {
    const ids = ['n1', 'n2', 'n3'];
    const common = ['--origin', `${origin.url}/{key}`];
    if (mode === 'etcd') {
      etcd = await startEtcd();
      for (const id of ids) nodes.push(await startCliNode(['--id', id, '--grpc-port', '0', '--etcd', etcd.url, '--etcd-lease-ttl', '5', ...common]));
    } else {
      const ports = [await freePort(), await freePort(), await freePort()];
      const peers = ports.map((p, k) => `${ids[k]}=127.0.0.1:${p}`).join(',');
      nodes.push(...(await Promise.all(ids.map((id, k) => startCliNode(['--id', id, '--grpc-port', String(ports[k]), '--peers', peers, ...common])))));
    }
    const [n1, n2, n3] = nodes;
    const samples = [];
    const start = performance.now();
    const stopAt = start + (cfg.warmupS + cfg.pauseS + cfg.afterS) * 1000;
    const loading = load([n1, n2], cfg, stopAt, samples);
    ctx.progress(`${mode}: warm-up ${cfg.warmupS} s`);
    await new Promise((r) => setTimeout(r, cfg.warmupS * 1000));
    const paused = performance.now();
    n3.signal('SIGSTOP');
    ctx.progress(`${mode}: n3 paused for ${cfg.pauseS} s`);
    await new Promise((r) => setTimeout(r, cfg.pauseS * 1000));
    n3.signal('SIGCONT');
    ctx.progress(`${mode}: n3 resumed`);
    await loading;
    // Per second, relative to the SIGSTOP.
    const seconds = [];
    const first = -Math.min(2, cfg.warmupS);
    for (let s = first; s < cfg.pauseS + cfg.afterS; s++) {
      const inSec = samples.filter((x) => x.at >= paused + s * 1000 && x.at < paused + (s + 1) * 1000);
      const ms = inSec.map((x) => x.ms);
      seconds.push({
        s,
        done: inSec.length,
        p50: ms.length ? percentile(ms, 50) : NaN,
        p99: ms.length ? percentile(ms, 99) : NaN,
        max: ms.length ? Math.max(...ms) : NaN,
        wrong: inSec.filter((x) => !x.ok).length,
      });
    }
    const window = samples.filter((x) => x.at >= paused + cfg.graceS * 1000 && x.at < paused + cfg.pauseS * 1000);
    const summary = {
      zeroSecondsAfterGrace: seconds.filter((x) => x.s >= cfg.graceS && x.s < cfg.pauseS && x.done === 0).length,
      p99AfterGraceMs: percentile(window.map((x) => x.ms), 99),
      maxAfterGraceMs: Math.max(...window.map((x) => x.ms)),
      completedWhilePaused: samples.filter((x) => x.at >= paused && x.at < paused + cfg.pauseS * 1000).length,
      wrong: samples.filter((x) => !x.ok).length,
      total: samples.length,
      suspectLogged: [n1, n2].every((n) => n.logs.some((l) => String(l.msg).startsWith('peer suspect'))),
    };
    return { seconds, summary };
  } finally {
    for (const n of nodes) await n.stop();
    await etcd?.stop();
  }
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  report.heading('hung-peer — one of three nodes SIGSTOPped under a closed-loop load');
  const cli = cliSupport();
  if (!cli.ok) return { status: 'not-available', reason: cli.reason, data: { config: cfg }, report: null, charts: [], targets: [] };
  report.para(
    `Three \`arenacache serve\` processes, origin = a local HTTP server; ${cfg.inflight} gets in flight (closed loop) over ${cfg.keys} keys through n1 and n2, ` +
      `every answer checked. After ${cfg.warmupS} s n3 gets SIGSTOP for ${cfg.pauseS} s, then SIGCONT. Second 0 starts at the SIGSTOP; ` +
      `figures per second are over the requests completed in it. Defaults: owner deadline 1 s, breaker opens after 3 misses, probes after 1 s, keepalive 1 s.`,
  );
  const origin = await startOrigin();
  ctx.onCleanup(() => origin.close());
  const data = { config: cfg, modes: {} };
  const targets = [];
  const f = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : '-');
  try {
    for (const mode of ['static', 'etcd']) {
      if (mode === 'etcd' && !etcdSupport().ok) {
        report.note(`etcd mode not measured: ${etcdSupport().reason}`);
        continue;
      }
      const r = await runMode(mode, cfg, ctx, origin);
      data.modes[mode] = r;
      report.table(
        `${mode === 'etcd' ? 'etcd (lease TTL 5 s)' : 'static --peers'}: per second from the SIGSTOP`,
        ['second', 'completed', 'p50 ms', 'p99 ms', 'max ms', 'wrong'],
        r.seconds.map((x) => [String(x.s), String(x.done), f(x.p50), f(x.p99), f(x.max), String(x.wrong)]),
      );
      const s = r.summary;
      report.para(
        `${mode}: ${s.completedWhilePaused} requests completed during the ${cfg.pauseS} s pause; seconds without a completed request after the first ${cfg.graceS} s: ${s.zeroSecondsAfterGrace}; ` +
          `p99 from ${cfg.graceS} s to the SIGCONT ${f(s.p99AfterGraceMs)} ms (max ${f(s.maxAfterGraceMs)} ms); wrong answers ${s.wrong} of ${s.total}.`,
      );
      targets.push(
        { section: 'hung-peer', goal: `${mode}: no second with zero completed requests after the first ${cfg.graceS} s of the pause`, value: `${s.zeroSecondsAfterGrace} such seconds`, reached: s.zeroSecondsAfterGrace === 0 },
        { section: 'hung-peer', goal: `${mode}: p99 < 1 s from ${cfg.graceS} s after the SIGSTOP`, value: `${f(s.p99AfterGraceMs)} ms`, reached: s.p99AfterGraceMs < 1000 },
        { section: 'hung-peer', goal: `${mode}: no wrong value`, value: `${s.wrong} of ${s.total}`, reached: s.wrong === 0 },
      );
    }
  } finally {
    await origin.close();
  }
  return { status: 'ok', data, report, charts: [], targets };
}
