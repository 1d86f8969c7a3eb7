// Section 9, snapshot: dumping and restoring a full arena (1 GiB; 128 MiB in --quick) in memory
// and through a file with the streaming forms, next to the plain copy of the same bytes (memory
// bandwidth) and to fs.writeFile/readFile of them (page-cache bandwidth), in interleaved rounds.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadArenaCache } from '../lib/arena.mjs';
import { Report } from '../lib/report.mjs';
import { fmtBytes, fmtNum, fmtRatio, median } from '../lib/stats.mjs';

const MiB = 1024 * 1024;

export function config(quick) {
  return {
    arenaBytes: (quick ? 128 : 1024) * MiB,
    shapes: [
      { name: '1 KiB values', valueBytes: 1000 },
      { name: '100 B values', valueBytes: 100 },
    ],
    rounds: quick ? 3 : 5, // timed, after one warm-up round that is dropped
    readChunk: MiB, // createReadStream highWaterMark
    goalMs: 5000, // "each within a few seconds" (issue 15), for the 1 GiB arena
  };
}

/** The operations of one round: [name, reference name or null, fn returning bytes moved]. */
function operations(ctx) {
  const { source, target, path, readChunk } = ctx;
  return [
    ['copy (reference)', null, () => {
      const out = new Uint8Array(ctx.snapshot.length);
      out.set(ctx.snapshot);
      return out.length;
    }],
    ['dump()', 'copy (reference)', () => {
      ctx.snapshot = source.dump();
      return ctx.snapshot.length;
    }],
    ['load(bytes)', 'copy (reference)', () => {
      target.clear();
      target.load(ctx.snapshot);
      return ctx.snapshot.length;
    }],
    ['writeFile (reference)', null, async () => {
      await writeFile(path, ctx.snapshot);
      return ctx.snapshot.length;
    }],
    ['dumpChunks → file', 'writeFile (reference)', async () => {
      await pipeline(Readable.from(source.dumpChunks()), createWriteStream(path));
      return ctx.snapshot.length;
    }],
    ['readFile (reference)', null, async () => (await readFile(path)).length],
    ['file → loadChunks', 'readFile (reference)', async () => {
      target.clear();
      await target.loadChunks(createReadStream(path, { highWaterMark: readChunk }));
      return ctx.snapshot.length;
    }],
    ['file → loadChunks, checked first', 'readFile (reference)', async () => {
      target.clear();
      await target.loadChunks(() => createReadStream(path, { highWaterMark: readChunk }));
      return ctx.snapshot.length;
    }],
  ];
}

export async function run(ctx) {
  const cfg = config(ctx.quick);
  const ac = await loadArenaCache();
  if (!ac.ok) return { status: 'not-available', reason: ac.reason, data: null, report: null, charts: [], targets: [] };
  const { ArenaCache } = ac;
  if (typeof ArenaCache.prototype.dumpChunks !== 'function' || typeof ArenaCache.prototype.loadChunks !== 'function') {
    return { status: 'not-available', reason: 'this build of ArenaCache has no dumpChunks/loadChunks', data: null, report: null, charts: [], targets: [] };
  }
  const dir = await mkdtemp(join(tmpdir(), 'arenacache-bench-snap-'));
  ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
  const report = new Report();
  report.heading(`snapshot — dump and restore of a ${fmtBytes(cfg.arenaBytes)} arena`);
  report.para(
    `A cache of maxBytes ${fmtBytes(cfg.arenaBytes)} (default s3fifo, 16 segments) filled with keys 'key:<i>' until its first eviction; ` +
      `the target is another such cache, prefaulted, cleared before each load. ${cfg.rounds} timed rounds after one warm-up round; ` +
      'inside a round every operation runs once, in an order rotated by one per round; each ratio is taken inside its round ' +
      '(the operation\'s time ÷ its reference\'s: the plain copy of the snapshot\'s bytes into a fresh buffer for the in-memory forms, ' +
      'fs.writeFile / fs.readFile of them for the file forms; files in the OS temp directory, page cache, no fsync). ' +
      'Figures: median with min–max over the rounds.',
  );
  const data = { config: cfg, shapes: [] };
  const rows = [];
  const targets = [];
  for (const shape of cfg.shapes) {
    ctx.progress(`${shape.name}: filling`);
    // One seed for both: the target's segments get exactly the source's entries (all fit).
    const opts = { maxBytes: cfg.arenaBytes, sweepIntervalMs: 0, maxValueBytes: 64 * 1024, prefault: true, seed: [1, 2, 3, 4] };
    const source = await ArenaCache.create(opts);
    const value = new Uint8Array(shape.valueBytes);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff;
    for (let i = 0; ; i++) {
      source.set('key:' + i, value);
      if (i % 4096 === 0 && source.stats().evictions > 0) break;
    }
    const target = await ArenaCache.create(opts);
    const st = { source, target, path: join(dir, 'cache.snap'), readChunk: cfg.readChunk, snapshot: source.dump() };
    const ops = operations(st);
    const times = new Map(ops.map(([name]) => [name, []]));
    const ratios = new Map(ops.map(([name]) => [name, []]));
    let bytes = 0;
    for (let round = 0; round <= cfg.rounds; round++) {
      const ms = new Map();
      for (let j = 0; j < ops.length; j++) {
        const [name, , fn] = ops[(j + round) % ops.length];
        ctx.progress(`${shape.name}: round ${round}/${cfg.rounds}: ${name}`);
        const t = performance.now();
        bytes = await fn();
        ms.set(name, performance.now() - t);
      }
      if (round === 0) continue; // warm-up
      for (const [name, ref] of ops) {
        times.get(name).push(ms.get(name));
        if (ref) ratios.get(name).push(ms.get(name) / ms.get(ref));
      }
    }
    // The restore is complete: the target holds what the source holds.
    const restored = target.size / source.size;
    const entries = source.size;
    const shapeData = { name: shape.name, entries, entryBytes: source.bytes, snapshotBytes: bytes, restored, times: Object.fromEntries(times), ratios: Object.fromEntries(ratios) };
    data.shapes.push(shapeData);
    for (const [name, ref] of ops) {
      const t = times.get(name);
      const r = ratios.get(name);
      const med = median(t);
      rows.push([
        shape.name,
        name,
        `${fmtNum(med / 1000, 2)} s (${fmtNum(Math.min(...t) / 1000, 2)}–${fmtNum(Math.max(...t) / 1000, 2)})`,
        `${fmtNum(bytes / MiB / (med / 1000), 0)} MiB/s`,
        ref ? `${fmtRatio(median(r))} (${fmtRatio(Math.min(...r))}–${fmtRatio(Math.max(...r))})` : '',
      ]);
    }
    report.para(`${shape.name}: ${entries.toLocaleString('en-US')} entries, ${fmtBytes(source.bytes)} charged, snapshot ${fmtBytes(bytes)}; entries restored: ${fmtNum(restored * 100, 2)}%${restored < 1 ? ' (the rest evicted during the load: a restored segment may split its queues otherwise)' : ''}.`);
    if (!ctx.quick) {
      for (const name of ['dump()', 'load(bytes)', 'dumpChunks → file', 'file → loadChunks']) {
        const med = median(times.get(name));
        targets.push({ section: 'snapshot', goal: `${shape.name}: ${name} of a 1 GiB arena within a few seconds (≤ ${cfg.goalMs / 1000} s)`, value: `${fmtNum(med / 1000, 2)} s`, reached: med <= cfg.goalMs });
      }
    }
    source.close();
    target.close();
  }
  report.table('time per operation, throughput of the snapshot\'s bytes, and time ÷ reference (above 1: slower than the plain copy)', ['arena', 'operation', 'time, median (min–max)', 'throughput', '÷ reference, median (min–max)'], rows);
  return { status: 'ok', data, report, charts: [], targets };
}
