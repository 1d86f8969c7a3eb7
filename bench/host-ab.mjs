#!/usr/bin/env node
// A/B micro-benchmark of two builds of the core host (e.g. main's dist/ against a branch's), in one
// process and interleaved in rounds, so both see the same machine state. Reports, per operation,
// the median of the per-round ratios B/A (ops per CPU second) and their min–max.
//
//   node bench/host-ab.mjs <distA> <distB> [--rounds 9] [--entries 200000]
//
// Each build gets its own cache with the same contents: 100-byte values, keys built per call.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const [distA, distB] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!distA || !distB) {
  console.error('usage: node bench/host-ab.mjs <distA> <distB> [--rounds 9] [--entries 200000]');
  process.exit(2);
}
const ROUNDS = opt('rounds', 9);
const N = opt('entries', 200_000);
const OPS = 300_000;

async function load(dist) {
  const mod = await import(pathToFileURL(resolve(dist, 'core/index.js')).href);
  const cache = await mod.ArenaCache.create({ maxBytes: 256 << 20, segments: 16, sweepIntervalMs: 0 });
  const value = new Uint8Array(100).fill(7);
  for (let i = 0; i < N; i++) cache.set(`key:${i}`, value);
  return cache;
}

// A fixed pseudo-random order (xorshift), the same for both builds.
const order = new Uint32Array(OPS);
let s = 0x9e3779b9;
for (let i = 0; i < OPS; i++) {
  s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
  order[i] = (s >>> 0) % N;
}
const value = new Uint8Array(100).fill(9);
let sink = 0;

const tasks = {
  get(c) {
    for (let i = 0; i < OPS; i++) {
      const v = c.get(`key:${order[i]}`);
      sink += v[0] + v[v.length - 1];
    }
    return OPS;
  },
  set(c) {
    for (let i = 0; i < OPS; i++) c.set(`key:${order[i]}`, value);
    return OPS;
  },
  getMany(c) {
    const keys = new Array(100);
    for (let i = 0; i + 100 <= OPS; i += 100) {
      for (let j = 0; j < 100; j++) keys[j] = `key:${order[i + j]}`;
      const out = c.getMany(keys);
      sink += out[0][0] + out[99][99];
    }
    return OPS;
  },
  getInto(c) {
    const buf = new Uint8Array(128);
    for (let i = 0; i < OPS; i++) sink += c.getInto(`key:${order[i]}`, buf);
    return OPS;
  },
};

const a = await load(distA);
const b = await load(distB);
const ratios = Object.fromEntries(Object.keys(tasks).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(tasks)) {
    // Alternate which build goes first, so neither always runs on a warmer cache.
    const pair = r % 2 === 0 ? [a, b] : [b, a];
    const rate = new Map();
    for (const c of pair) {
      // CPU time, not wall time: on a shared machine the process also waits for a core.
      const t0 = process.cpuUsage();
      const n = fn(c);
      const t = process.cpuUsage(t0);
      rate.set(c, n / (t.user + t.system));
    }
    if (r > 0) ratios[name].push(rate.get(b) / rate.get(a)); // round 0 warms up the JIT
  }
}
const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
console.log(`B/A ops per CPU second over ${ROUNDS - 1} rounds (A = ${distA}, B = ${distB}):`);
for (const [name, xs] of Object.entries(ratios)) {
  console.log(`  ${name.padEnd(8)} median ${median(xs).toFixed(3)}  min ${Math.min(...xs).toFixed(3)}  max ${Math.max(...xs).toFixed(3)}`);
}
if (sink === -1) console.log(sink);
