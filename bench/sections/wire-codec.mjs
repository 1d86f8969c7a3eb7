#!/usr/bin/env node
// Codec micro-benchmark (issue 14): the hand-written wire codec (src/transport/wire) against the
// dynamic protobufjs codec grpc-js uses today (proto-loader's serialize/deserialize), for
// GetMany responses of 1/16/64/256 keys × 100 B and 4 KB values: encode and decode ns per key.
//
//   npm run build:ts && node bench/sections/wire-codec.mjs [--rounds 7] [--ms 2] [--samples 15] [--json out.json]
//
// Each round times every case with both codecs, alternating sample by sample (`samples` timings
// of about `ms` each per codec), and keeps each codec's fastest sample of the round: on 2 shared
// cores a sample is only ever slowed down (preemption, another process's cache traffic, a GC
// landing in it), so the minimum is the round's best estimate. The speed-up is computed per
// round (protobufjs ns / wire ns) and reported as median and min–max over the rounds.
import { writeFileSync } from 'node:fs';
import { median } from '../lib/stats.mjs';

const DIST = new URL('../../dist/transport/', import.meta.url);
const wire = await import(new URL('wire/index.js', DIST).href);
const { peerService } = await import(new URL('proto.js', DIST).href);

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 7));
const TARGET_MS = Number(arg('ms', 2));
const SAMPLES = Number(arg('samples', 15));
const JSON_OUT = arg('json', null);

const KEYS = [1, 16, 64, 256];
const SIZES = [100, 4096];
const dyn = peerService().GetMany;

function makeCase(n, size) {
  const values = Array.from({ length: n }, (_, i) => Buffer.alloc(size, (i * 7) & 255));
  const objects = { items: values.map((value) => ({ status: 'FOUND', value })) };
  const encodeWire = () => {
    const enc = new wire.GetManyResponseEncoder({ capacity: n });
    for (let i = 0; i < n; i++) enc.foundValue(values[i]);
    return enc.finish();
  };
  const encodeDyn = () => dyn.responseSerialize(objects);
  const bytes = encodeWire();
  // Same bytes on the wire (field for field), and each decodes the other's output.
  if (!bytes.equals(encodeDyn())) throw new Error(`encodings differ for ${n} × ${size}`);
  const decodeWire = () => wire.decodeGetManyResponse(bytes);
  const decodeDyn = () => dyn.responseDeserialize(bytes);
  const a = decodeWire();
  const b = decodeDyn();
  if (a.count !== n || b.items.length !== n || !Buffer.from(a.values[n - 1]).equals(b.items[n - 1].value)) throw new Error('decoders disagree');
  return { n, size, ops: { 'encode/wire': encodeWire, 'encode/protobufjs': encodeDyn, 'decode/wire': decodeWire, 'decode/protobufjs': decodeDyn } };
}

let sink = 0;
/** ns per key of `fn` over ~TARGET_MS (iterations calibrated on the first call). */
function time(fn, n, iters) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) sink ^= fn() === undefined ? 1 : 0;
  return Number(process.hrtime.bigint() - t0) / (iters * n);
}

const cases = [];
for (const size of SIZES) for (const n of KEYS) cases.push(makeCase(n, size));
// calibrate: iterations per op so each timing takes about TARGET_MS
for (const c of cases) {
  c.iters = {};
  for (const [name, fn] of Object.entries(c.ops)) {
    let iters = 4;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) fn();
      const ms = performance.now() - t0;
      if (ms > 2) {
        c.iters[name] = Math.max(4, Math.round((iters * TARGET_MS) / ms));
        break;
      }
      iters *= 4;
    }
  }
}

const results = cases.map((c) => ({ n: c.n, size: c.size, ns: { 'encode/wire': [], 'encode/protobufjs': [], 'decode/wire': [], 'decode/protobufjs': [] } }));
for (let r = 0; r < ROUNDS + 1; r++) {
  cases.forEach((c, ci) => {
    for (const op of ['encode', 'decode']) {
      const best = { wire: Infinity, protobufjs: Infinity };
      for (let s = 0; s < SAMPLES; s++) {
        const order = s % 2 === 0 ? ['wire', 'protobufjs'] : ['protobufjs', 'wire'];
        for (const codec of order) {
          const name = `${op}/${codec}`;
          best[codec] = Math.min(best[codec], time(c.ops[name], c.n, c.iters[name]));
        }
      }
      if (r === 0) continue; // warm-up
      results[ci].ns[`${op}/wire`].push(best.wire);
      results[ci].ns[`${op}/protobufjs`].push(best.protobufjs);
    }
  });
  process.stderr.write(`round ${r}/${ROUNDS}${r === 0 ? ' (warm-up)' : ''}\n`);
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const rows = [];
for (const res of results) {
  const row = { keys: res.n, value: res.size === 100 ? '100 B' : '4 KB' };
  for (const op of ['encode', 'decode']) {
    const w = res.ns[`${op}/wire`];
    const d = res.ns[`${op}/protobufjs`];
    const ratios = w.map((x, i) => d[i] / x);
    row[op] = { wireNs: median(w), protobufjsNs: median(d), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  }
  rows.push(row);
}
console.log(`GetMany response codec, ns per key: median over ${ROUNDS} rounds of each round's fastest of ${SAMPLES} interleaved samples; speed-up = protobufjs ns / wire ns per round, median (min–max)\n`);
console.log('| keys | value | encode wire | encode protobufjs | encode speed-up | decode wire | decode protobufjs | decode speed-up |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const e = r.encode;
  const d = r.decode;
  console.log(
    `| ${r.keys} | ${r.value} | ${fmt(e.wireNs)} | ${fmt(e.protobufjsNs)} | ${e.ratio.toFixed(2)}× (${e.min.toFixed(2)}–${e.max.toFixed(2)}) | ${fmt(d.wireNs)} | ${fmt(d.protobufjsNs)} | ${d.ratio.toFixed(2)}× (${d.min.toFixed(2)}–${d.max.toFixed(2)}) |`,
  );
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ rounds: ROUNDS, samples: SAMPLES, targetMs: TARGET_MS, node: process.versions.node, rows }, null, 2));
if (sink === 42) console.log(''); // keep `sink` observable so the loops are not optimized away
