#!/usr/bin/env node
// Transport study for issue 14 (standalone; not part of `npm run bench` yet):
//
//   npm run build && node bench/sections/transport-study.mjs [--rounds 5] [--ms 1000]
//        [--depths 1,16,64,256] [--sizes 100,4096] [--window-us 100] [--max-in-flight 2]
//        [--max-bytes 262144] [--flow-window BYTES] [--variants a,b,...] [--port 19400] [--json out.json]
//
// One owner process (values in an ArenaCache, grpc-js servers with the wire codec and with
// proto-loader's codec), one client process (the variants of transport-study-client.mjs), and
// redis-server with the same keys; loopback. Every (value size, depth) cell runs every variant,
// in an order rotated each round; the first round is a warm-up. Reported per cell: median keys/s,
// the per-round ratio to Redis (no pipelining) as median (min–max), median p50/p99, client and
// owner CPU µs per key (process.cpuUsage; redis-server from /proc/<pid>/stat), keys per RPC.
import { fork, spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 5));
const MS = Number(arg('ms', 1000));
const DEPTHS = arg('depths', '1,16,64,256').split(',').map(Number);
const SIZES = arg('sizes', '100,4096').split(',').map(Number);
const PORT = Number(arg('port', 19400));
const JSON_OUT = arg('json', null);
const VARIANTS = arg('variants', 'today,unary-turn,unary-window,stream,stream-window,stream-win4m,redis,redis-auto').split(',');
const windowOptions = {
  windowUs: Number(arg('window-us', 100)),
  maxInFlight: Number(arg('max-in-flight', 4)),
  maxBytes: Number(arg('max-bytes', 512 * 1024)),
};
const FLOW_WINDOW = Number(arg('flow-window', 0)); // client HTTP/2 receive window; 0 = grpc-js default (64 KiB)
const GROUPS = SIZES.map((size) => ({ name: size >= 1024 ? `v${size >> 10}k` : `v${size}`, size, keyCount: size >= 1024 ? 2000 : 10_000 }));
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const ports = { wirePort: PORT + 1, dynPort: PORT + 2, redisPort: PORT + 3 };

function child(script, cfg) {
  const c = fork(here(script), [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  c.on('message', (m) => {
    if (m.type === 'error') throw new Error(`${script}: ${m.message}`);
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  c.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  c.ask = (msg, type) => {
    const p = c.next(type);
    c.send(msg);
    return p;
  };
  return c;
}

// --- redis-server on a fixed loopback port, with the same keys and values ---
const redis = spawn('redis-server', ['--port', String(ports.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
const stopRedis = () => {
  try {
    process.kill(redis.pid, 'SIGTERM');
  } catch {}
};
process.on('exit', stopRedis);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const redisCpuUs = () => {
  const f = readFileSync(`/proc/${redis.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // utime, stime (fields 14, 15)
};
const { default: Redis } = await import('ioredis');
const loader = new Redis({ host: '127.0.0.1', port: ports.redisPort, lazyConnect: true, retryStrategy: (n) => (n < 50 ? 100 : null) });
for (let i = 0; ; i++) {
  try {
    await loader.connect();
    break;
  } catch (e) {
    if (i > 50) throw e;
    await new Promise((r) => setTimeout(r, 100));
  }
}
for (const g of GROUPS) {
  const pipe = loader.pipeline();
  for (let i = 0; i < g.keyCount; i++) pipe.set(`${g.name}:${i}`, Buffer.alloc(g.size, i & 255));
  await pipe.exec();
}
await loader.quit();

const server = child('./transport-study-server.mjs', { ...ports, groups: GROUPS });
await server.next('ready');
const client = child('./transport-study-client.mjs', { ...ports, windowOptions, flowWindow: FLOW_WINDOW });
await client.next('ready');

const load0 = os.loadavg();
const cells = new Map(); // `${size}/${depth}/${variant}` → per-round records
const started = Date.now();
for (let round = 0; round <= ROUNDS; round++) {
  const ms = round === 0 ? Math.min(300, MS) : MS;
  for (const g of GROUPS) {
    for (const depth of DEPTHS) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const variant of order) {
        const isRedis = variant.startsWith('redis');
        const s0 = isRedis ? { cpu: redisCpuUs(), keys: 0 } : await server.ask({ cmd: 'cpu' }, 'cpu');
        const { data } = await client.ask({ cmd: 'run', variant, group: g.name, size: g.size, keyCount: g.keyCount, inflight: depth, ms }, 'ran');
        const s1 = isRedis ? { cpu: redisCpuUs(), keys: 0 } : await server.ask({ cmd: 'cpu' }, 'cpu');
        const serverCpuUs = isRedis ? s1.cpu - s0.cpu : s1.cpu.user + s1.cpu.system - (s0.cpu.user + s0.cpu.system);
        const servedKeys = isRedis ? data.keys : s1.keys - s0.keys;
        if (data.errors > 0) console.error(`${variant} ${g.size} B ×${depth}: ${data.errors} errors, first: ${data.firstError}`);
        if (round === 0) continue;
        const key = `${g.size}/${depth}/${variant}`;
        if (!cells.has(key)) cells.set(key, []);
        cells.get(key).push({ ...data, serverCpuUs, servedKeys });
      }
    }
  }
  console.error(`round ${round}/${ROUNDS}${round === 0 ? ' (warm-up)' : ''} done, ${Math.round((Date.now() - started) / 1000)} s, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
const load1 = os.loadavg();
await client.ask({ cmd: 'close' }, 'closed');
await server.ask({ cmd: 'close' }, 'closed');
stopRedis();

// --- report ---
const fmtK = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
const fmtMs = (x) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);
const rows = [];
for (const g of GROUPS) {
  for (const depth of DEPTHS) {
    const ref = cells.get(`${g.size}/${depth}/redis`);
    for (const variant of VARIANTS) {
      const runs = cells.get(`${g.size}/${depth}/${variant}`);
      if (!runs) continue;
      const ratios = ref ? runs.map((r, i) => r.keysPerSec / ref[i].keysPerSec) : [];
      rows.push({
        size: g.size,
        depth,
        variant,
        keysPerSec: median(runs.map((r) => r.keysPerSec)),
        ratio: ratios.length ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) } : null,
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        clientUsPerKey: median(runs.map((r) => r.cpuUs / r.keys)),
        serverUsPerKey: median(runs.map((r) => r.serverCpuUs / r.servedKeys)),
        keysPerRpc: variant.startsWith('redis') ? null : median(runs.map((r) => r.keys / Math.max(1, r.rpcs))),
        errors: runs.reduce((a, r) => a + r.errors, 0),
      });
    }
  }
}
console.log(`transport study: ${ROUNDS} rounds × ${MS} ms per cell (after a warm-up round), variants interleaved, order rotated per round`);
console.log(`unary-window and stream-window: windowUs ${windowOptions.windowUs}, maxInFlight ${windowOptions.maxInFlight}, maxBytes ${windowOptions.maxBytes} (keys + expected value bytes); client HTTP/2 window ${FLOW_WINDOW || 'default (64 KiB)'}`);
console.log(`node ${process.versions.node}, ${os.cpus()[0]?.model} ×${os.availableParallelism()}, load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| value | in flight | variant | keys/s | × Redis, median (min–max) | p50 | p99 | client µs/key | owner µs/key | keys/RPC | errors |');
console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = r.ratio ? `${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})` : '—';
  console.log(
    `| ${r.size >= 1024 ? `${r.size >> 10} KB` : `${r.size} B`} | ${r.depth} | ${r.variant} | ${fmtK(r.keysPerSec)} | ${ratio} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${r.clientUsPerKey.toFixed(2)} | ${r.serverUsPerKey.toFixed(2)} | ${r.keysPerRpc === null ? '' : r.keysPerRpc.toFixed(1)} | ${r.errors} |`,
  );
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ rounds: ROUNDS, ms: MS, windowOptions, flowWindow: FLOW_WINDOW, load: [load0, load1], node: process.versions.node, rows, cells: Object.fromEntries(cells) }, null, 2));
process.exit(0);
