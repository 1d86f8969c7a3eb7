// Section warm-restart: `arenacache serve --data-dir` as people run it (real CLI processes).
//
// 1. Hit ratio: a node with an HTTP origin and a cache of about 10% of the key space is warmed
//    with a Zipf(0.99) trace, then the same trace is replayed and its hit ratio measured
//    ("before"); the node is stopped with SIGTERM (it writes its snapshot) and started again on
//    the same directory, and the same trace is replayed at once ("after"). A node started with an
//    empty directory replays it too ("cold"). Per round: after ÷ before and cold ÷ before; the
//    figures are the medians of the per-round ratios with their min–max.
// 2. Restart time vs data size: a node of each size filled with 1 KiB values, then stopped and
//    started again several times: snapshot write time and bytes (its log line), SIGTERM-to-exit,
//    restore time (its log line) and spawn-to-ready, beside a cold start's spawn-to-ready.
// Goals (issue 15): the hit ratio right after a warm restart equal to the one before it; snapshot
// and restore of a 1 GiB cache each within a few seconds (taken as ≤ 5 s).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cliSupport, collectLogs, freePort } from '../lib/cli-nodes.mjs';
import { zipfTrace } from '../lib/prng.mjs';
import { Report } from '../lib/report.mjs';
import { fmtBytes, median } from '../lib/stats.mjs';

export function config(quick) {
  return {
    keys: quick ? 100_000 : 200_000,
    valueBytes: 100,
    theta: 0.99,
    traceLength: quick ? 150_000 : 400_000,
    batch: 100,
    // About 10% of the key space: 7/8 of it is the main cache, ~170 B per entry.
    maxBytes: quick ? '2MiB' : '4MiB',
    rounds: quick ? 2 : 5,
    sizesMiB: quick ? [64, 256] : [64, 256, 1024],
    cycles: quick ? 2 : 3,
    fillValueBytes: 1024,
    quick,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An origin answering `/<key>` with `valueBytes` bytes derived from the key. */
async function startOrigin(valueBytes) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const key = decodeURIComponent((req.url ?? '/').slice(1));
    res.end(Buffer.alloc(valueBytes, key));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

/** `arenacache serve` with a fixed gRPC port (a stable node id), waiting for "ready"; timed. */
async function serve(args) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--http-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: performance.now() })));
  const logs = collectLogs(child);
  child.stderr.resume();
  let ready;
  while (!(ready = logs.find((l) => l.msg === 'ready'))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node exited before ready: ${JSON.stringify(logs.slice(-3))}`);
    if (performance.now() - t0 > 300_000) throw new Error('node not ready within 300 s');
    await sleep(5);
  }
  const readyMs = performance.now() - t0;
  return {
    url: `http://${ready.httpAddress}`,
    logs,
    readyMs,
    /** SIGTERM; resolves with the ms from the signal to the exit (the snapshot is written in between). */
    async stop() {
      const s = performance.now();
      child.kill('SIGTERM');
      const e = await exited;
      if (e.code !== 0) throw new Error(`node exited with ${e.code ?? e.signal}: ${JSON.stringify(logs.slice(-3))}`);
      return e.at - s;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

async function metricValue(node, re) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

const hitsRe = /^arenacache_hits_total\{group="default",cache="main"\} (\S+)$/m;
const getsRe = /^arenacache_gets_total\{group="default"\} (\S+)$/m;
const entriesRe = /^arenacache_entries\{group="default",cache="main"\} (\S+)$/m;

/** Replay `trace` (key ids) through get-many in batches, one batch in flight; the hit ratio the node counted. */
async function replay(node, trace, cfg) {
  const [h0, g0] = [await metricValue(node, hitsRe), await metricValue(node, getsRe)];
  for (let i = 0; i < trace.length; i += cfg.batch) {
    const parts = [];
    for (let j = i; j < Math.min(trace.length, i + cfg.batch); j++) {
      const key = Buffer.from(`z${trace[j]}`);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(key.length);
      parts.push(len, key);
    }
    const res = await fetch(`${node.url}/v1/groups/default/get-many`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.concat(parts),
    });
    if (res.status !== 200) throw new Error(`get-many answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
  const [h1, g1] = [await metricValue(node, hitsRe), await metricValue(node, getsRe)];
  return (h1 - h0) / (g1 - g0);
}

async function hitRatioRound(cfg, trace, origin, ctx, r) {
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-bench-warm-'));
  const port = await freePort();
  const args = ['--grpc-port', String(port), '--origin', `${origin.url}/{key}`, '--max-bytes', cfg.maxBytes, '--data-dir', join(dir, 'data')];
  let node;
  try {
    ctx.progress(`hit ratio round ${r + 1}/${cfg.rounds}: warming`);
    node = await serve(args);
    await replay(node, trace, cfg);
    ctx.progress(`hit ratio round ${r + 1}/${cfg.rounds}: before`);
    const before = await replay(node, trace, cfg);
    const entries = await metricValue(node, entriesRe);
    const stopMs = await node.stop();
    const written = node.logs.find((l) => l.msg === 'snapshot written');
    ctx.progress(`hit ratio round ${r + 1}/${cfg.rounds}: after the restart`);
    node = await serve(args);
    const restored = node.logs.find((l) => l.msg === 'snapshot restored');
    const after = await replay(node, trace, cfg);
    const afterAgain = await replay(node, trace, cfg); // once the cache has seen the trace again
    await node.stop();
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    ctx.progress(`hit ratio round ${r + 1}/${cfg.rounds}: cold`);
    node = await serve(args);
    const cold = await replay(node, trace, cfg);
    await node.stop();
    node = undefined;
    return {
      before,
      after,
      afterAgain,
      cold,
      entries,
      restoredEntries: restored?.entries ?? 0,
      snapshotBytes: written?.bytes ?? NaN,
      stopMs,
    };
  } finally {
    await node?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fill a node of `sizeMiB` with 1 KiB values until the main cache stops growing. */
async function fill(node, cfg, sizeMiB) {
  const value = Buffer.alloc(cfg.fillValueBytes, 7).toString('base64');
  const perRequest = 1000;
  // Entries beyond the budget evict older ones; write about the budget's worth, then a little more.
  const target = Math.ceil(((sizeMiB * 7) / 8) * (1 << 20) / (cfg.fillValueBytes + 48)) + perRequest;
  for (let i = 0; i < target; i += perRequest) {
    const items = [];
    for (let j = i; j < i + perRequest; j++) items.push({ key: `fill/${j}`, value });
    const res = await fetch(`${node.url}/v1/groups/default/set-many`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    if (res.status !== 200) throw new Error(`set-many answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
  return metricValue(node, entriesRe);
}

async function sizeRun(cfg, sizeMiB, ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-bench-warm-'));
  const port = await freePort();
  const args = ['--grpc-port', String(port), '--max-bytes', `${sizeMiB}MiB`, '--data-dir', join(dir, 'data'), '--shutdown-timeout', '60s'];
  let node;
  try {
    ctx.progress(`${sizeMiB} MiB: cold start and fill`);
    node = await serve(args);
    const coldReadyMs = node.readyMs;
    const entries = await fill(node, cfg, sizeMiB);
    const cycles = [];
    for (let c = 0; c < cfg.cycles; c++) {
      ctx.progress(`${sizeMiB} MiB: restart ${c + 1}/${cfg.cycles}`);
      const stopMs = await node.stop();
      const written = node.logs.find((l) => l.msg === 'snapshot written');
      node = await serve(args);
      const restored = node.logs.find((l) => l.msg === 'snapshot restored');
      cycles.push({
        writeMs: written?.ms ?? NaN,
        bytes: written?.bytes ?? NaN,
        stopMs,
        restoreMs: restored?.ms ?? NaN,
        restored: restored?.entries ?? 0,
        readyMs: node.readyMs,
      });
    }
    await node.stop();
    node = undefined;
    return { sizeMiB, entries, coldReadyMs, cycles };
  } finally {
    await node?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0) : '-');
const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(2) + '%' : '-');
const ratio = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const span = (xs, fmt) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const report = new Report();
  report.heading('warm-restart — a node restarted with --data-dir');
  const cli = cliSupport();
  if (!cli.ok) return { status: 'not-available', reason: cli.reason, data: { config: cfg }, report: null, charts: [], targets: [] };
  const origin = await startOrigin(cfg.valueBytes);
  ctx.onCleanup(() => origin.close());
  const trace = zipfTrace(cfg.traceLength, cfg.keys, cfg.theta, 15);
  const data = { config: cfg, rounds: [], sizes: [] };
  const targets = [];
  try {
    for (let r = 0; r < cfg.rounds; r++) data.rounds.push(await hitRatioRound(cfg, trace, origin, ctx, r));
    for (const s of cfg.sizesMiB) data.sizes.push(await sizeRun(cfg, s, ctx));
  } finally {
    await origin.close();
  }

  const rs = data.rounds;
  const afterRatio = rs.map((x) => x.after / x.before);
  const coldRatio = rs.map((x) => x.cold / x.before);
  report.para(
    `One \`arenacache serve\` process, group \`default\` of ${cfg.maxBytes} with an HTTP origin (${cfg.valueBytes} B values) over ${cfg.keys.toLocaleString('en')} keys; ` +
      `trace: Zipf(${cfg.theta}), ${cfg.traceLength.toLocaleString('en')} gets, the same in every replay, sent as get-many batches of ${cfg.batch} (one in flight). ` +
      `Hit ratio = main-cache hits ÷ gets as the node counts them (a key repeated inside one batch counts as coalesced, not as a hit — alike in every replay). ` +
      `Per round: warm-up replay, "before" replay, SIGTERM (snapshot written), start on the same --data-dir, "after" replay at once and a 2nd one; then "cold": a node with an empty directory, one replay. ${cfg.rounds} rounds.`,
  );
  report.table(
    'hit ratio before and right after a warm restart (per round)',
    ['round', 'before', 'after', 'after, 2nd replay', 'cold', 'after ÷ before', 'cold ÷ before', 'entries', 'restored', 'snapshot', 'SIGTERM → exit ms'],
    rs.map((x, i) => [String(i + 1), pct(x.before), pct(x.after), pct(x.afterAgain), pct(x.cold), ratio(afterRatio[i]), ratio(coldRatio[i]), String(x.entries), String(x.restoredEntries), fmtBytes(x.snapshotBytes), f1(x.stopMs)]),
  );
  report.table('summary (median of the per-round ratios, min–max)', ['figure', 'median', 'min–max', 'rounds'], [
    ['after ÷ before', ratio(median(afterRatio)), span(afterRatio, ratio), String(rs.length)],
    ['after, 2nd replay ÷ before', ratio(median(rs.map((x) => x.afterAgain / x.before))), span(rs.map((x) => x.afterAgain / x.before), ratio), String(rs.length)],
    ['cold ÷ before', ratio(median(coldRatio)), span(coldRatio, ratio), String(rs.length)],
    ['hit ratio before', pct(median(rs.map((x) => x.before))), span(rs.map((x) => x.before), pct), String(rs.length)],
    ['hit ratio after', pct(median(rs.map((x) => x.after))), span(rs.map((x) => x.after), pct), String(rs.length)],
  ]);

  report.para(
    `Restart time vs data size: a node with \`--max-bytes\` of each size, filled with ${cfg.fillValueBytes} B values through set-many, then stopped (SIGTERM) and started again ${cfg.cycles} times on the same directory. ` +
      '"write" and "restore" are the times the node logs for its snapshot (snapshot written / snapshot restored); "SIGTERM → exit" and "spawn → ready" are measured from outside and include process start-up (Node, the wasm core, the arena). Medians over the restarts, min–max beside.',
  );
  const rows = data.sizes.map((s) => {
    const c = s.cycles;
    const med = (k) => median(c.map((x) => x[k]));
    const mbps = (bytes, ms) => (bytes / (1 << 20)) / (ms / 1000);
    return [
      `${s.sizeMiB} MiB`,
      String(s.entries),
      fmtBytes(med('bytes')),
      `${f1(med('writeMs'))} (${span(c.map((x) => x.writeMs), f1)})`,
      f1(mbps(med('bytes'), med('writeMs'))),
      `${f1(med('restoreMs'))} (${span(c.map((x) => x.restoreMs), f1)})`,
      f1(mbps(med('bytes'), med('restoreMs'))),
      f1(med('stopMs')),
      f1(med('readyMs')),
      f1(s.coldReadyMs),
      String(Math.min(...c.map((x) => x.restored))),
    ];
  });
  report.table(
    'snapshot write and restore vs size (ms; MB/s = MiB per second)',
    ['group', 'entries', 'snapshot', 'write ms', 'write MiB/s', 'restore ms', 'restore MiB/s', 'SIGTERM → exit ms', 'spawn → ready ms', 'cold spawn → ready ms', 'restored (min)'],
    rows,
  );

  targets.push({
    section: 'warm-restart',
    goal: 'hit ratio right after a warm restart equal to the one before it (median after ÷ before ≥ 0.99)',
    value: `${ratio(median(afterRatio))} (${span(afterRatio, ratio)}, ${rs.length} rounds; cold ${ratio(median(coldRatio))})`,
    reached: median(afterRatio) >= 0.99,
  });
  const big = data.sizes.find((s) => s.sizeMiB >= 1024);
  if (big) {
    const w = median(big.cycles.map((x) => x.writeMs));
    const rr = median(big.cycles.map((x) => x.restoreMs));
    targets.push(
      { section: 'warm-restart', goal: 'snapshot of a 1 GiB group written within a few seconds (≤ 5 s)', value: `${f1(w)} ms`, reached: w <= 5000 },
      { section: 'warm-restart', goal: 'snapshot of a 1 GiB group restored within a few seconds (≤ 5 s)', value: `${f1(rr)} ms`, reached: rr <= 5000 },
    );
  } else {
    targets.push({ section: 'warm-restart', goal: 'snapshot and restore of a 1 GiB group within a few seconds', value: 'not run (--quick stops at 256 MiB)', reached: undefined });
  }
  return { status: 'ok', data, report, charts: [], targets };
}
