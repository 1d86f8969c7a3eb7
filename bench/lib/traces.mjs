// Request traces for hit-ratio runs: the real ACT1 traces (found, never bundled) and seeded
// synthetic ones. Every trace is `{ name, ids: Uint32Array, sizes: Uint32Array | null, objects,
// workingSetBytes, note }` with dense ids 0..objects-1, so simulators can index typed arrays by
// key instead of hashing into a Map.
import { existsSync, createReadStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { rng, zipfTrace } from './prng.mjs';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The real traces (see NOTICE.md beside them). Sized ones carry one u32 size per request. */
export const REAL_TRACES = ['web12', 'orm-busy', 'cloudphysics', 'adaptsize'];

/**
 * Where the traces are: `$TRACES_DIR`, else `../shared/traces` next to the repository. They are
 * licensed data kept outside the repository (CI has none), so absence is a normal answer: returns
 * `{ dir: null, reason }` rather than throwing.
 */
export function tracesDir(env = process.env) {
  const candidates = env.TRACES_DIR ? [resolve(env.TRACES_DIR)] : [resolve(REPO, '../shared/traces'), ...worktreeShared()];
  for (const dir of candidates) if (existsSync(dir)) return { dir, reason: null };
  return { dir: null, reason: `not present (looked in ${candidates.join(', ')}; set TRACES_DIR)` };
}

/** A git worktree's own parent has no shared/: also look beside the main checkout. */
function worktreeShared() {
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dir = resolve(dirname(common), '../shared/traces');
    return dir === resolve(REPO, '../shared/traces') ? [] : [dir];
  } catch {
    return [];
  }
}

/** Path of a named real trace, or null when it is not there. */
export function tracePath(name, env = process.env) {
  const { dir } = tracesDir(env);
  if (!dir) return null;
  const p = join(dir, `${name}.act.gz`);
  return existsSync(p) ? p : null;
}

/**
 * Stream-decode one ACT1 file: gzip of "ACT1" | u32 n | u32 objects | u32 flags | n×u32 id |
 * (flags & 1: n×u32 size), little-endian. The arrays are allocated once from the header and filled
 * as chunks arrive, so the 20 MB of orm-busy never exists twice in memory.
 */
export async function readAct(path, name = path) {
  const head = new Uint8Array(16);
  let headLen = 0;
  let n = 0, objects = 0, sized = false;
  let body = null; // Uint8Array view over ids (then sizes), filled byte by byte across chunks
  let filled = 0;
  for await (const chunk of createReadStream(path).pipe(createGunzip())) {
    let off = 0;
    if (headLen < 16) {
      const take = Math.min(16 - headLen, chunk.length);
      head.set(chunk.subarray(0, take), headLen);
      headLen += take;
      off = take;
      if (headLen < 16) continue;
      const dv = new DataView(head.buffer);
      const magic = String.fromCharCode(...head.subarray(0, 4));
      if (magic !== 'ACT1') throw new Error(`${path}: not an ACT1 trace (magic ${JSON.stringify(magic)})`);
      n = dv.getUint32(4, true);
      objects = dv.getUint32(8, true);
      sized = (dv.getUint32(12, true) & 1) === 1;
      body = new Uint8Array(n * 4 * (sized ? 2 : 1));
    }
    const take = Math.min(chunk.length - off, body.length - filled);
    body.set(chunk.subarray(off, off + take), filled);
    filled += take;
  }
  if (!body || filled !== body.length) throw new Error(`${path}: truncated (${filled} of ${body?.length ?? '?'} body bytes)`);
  // Little-endian on every platform Node runs on; a big-endian host would need a swap here.
  const all = new Uint32Array(body.buffer, 0, body.length >> 2);
  const ids = all.subarray(0, n);
  const sizes = sized ? all.subarray(n) : null;
  return withWorkingSet({ name, ids, sizes, objects, note: null });
}

/** Reads a named real trace, or returns null when it is not present. */
export async function loadRealTrace(name, env = process.env) {
  const p = tracePath(name, env);
  return p ? readAct(p, name) : null;
}

/** Adds `workingSetBytes` (Σ size over distinct objects; = objects when unsized). */
function withWorkingSet(t) {
  if (!t.sizes) return { ...t, workingSetBytes: t.objects };
  const seen = new Uint8Array(t.objects);
  let bytes = 0;
  for (let i = 0; i < t.ids.length; i++) {
    const k = t.ids[i];
    if (!seen[k]) {
      seen[k] = 1;
      bytes += t.sizes[i];
    }
  }
  return { ...t, workingSetBytes: bytes };
}

/** Zipf(θ) over `objects` keys (ranks scrambled by a seeded permutation, bench/lib/prng.mjs). */
export function zipf({ objects, length, theta = 0.99, seed = 1 }) {
  return {
    name: `zipf${theta}-${short(objects)}`,
    ids: zipfTrace(length, objects, theta, seed),
    sizes: null,
    objects,
    workingSetBytes: objects,
    note: `Zipf(${theta}) over ${objects.toLocaleString('en-US')} keys, ${length.toLocaleString('en-US')} requests`,
  };
}

/**
 * Zipf traffic with one-time scans of new keys interleaved, the way a batch job (an export, a
 * crawler, a re-index) walks rows once while users keep reading their hot set. Between scans
 * (idle length geometric, mean `idle`) every request is Zipf; while a scan runs, requests alternate
 * one scan key, one Zipf key. Scan keys are consecutive new ids never seen again; key order does not
 * matter to a hashed, segmented cache, so what the trace tests is the burst of one-hit keys.
 *
 * The working set is the `objects` Zipf keys, not every distinct key: a one-time key can never hit
 * under any policy, and counting the 800k scan keys would make "10% of the working set" hold the
 * whole reused set. Scan requests still count in the miss ratio (they are real misses).
 */
export function scanHeavy({ objects, length, theta = 0.99, scanShare = 0.4, scanLength = Math.round(objects / 10), seed = 1 }) {
  // share = L / (idle + 2L)  =>  idle = L (1 - 2 share) / share
  const idle = (scanLength * (1 - 2 * scanShare)) / scanShare;
  if (!(idle > 0)) throw new RangeError('scanShare must be below 0.5 (scans interleave 1:1 with Zipf traffic)');
  const z = zipfTrace(length, objects, theta, seed);
  const r = rng(seed ^ 0x2545f491);
  const ids = new Uint32Array(length);
  let zi = 0, next = objects, left = 0, turn = 0, scans = 0;
  for (let i = 0; i < length; i++) {
    if (left === 0 && r() < 1 / idle) {
      left = scanLength;
      scans++;
    }
    if (left > 0 && (turn ^= 1) === 1) {
      ids[i] = next++;
      left--;
    } else ids[i] = z[zi++];
  }
  const scanned = next - objects;
  return {
    name: `scan-${short(objects)}`,
    ids,
    sizes: null,
    objects: next,
    workingSetBytes: objects,
    note: `Zipf(${theta}) over ${short(objects)} keys with ${scans} scans of ${short(scanLength)} new keys interleaved 1:1 (${((scanned / length) * 100).toFixed(0)}% of ${short(length)} requests); working set = the ${short(objects)} Zipf keys`,
  };
}

/**
 * Half Zipf traffic, half a cyclic loop over `loop` keys (a periodic job that walks a table larger
 * than the cache): the pattern where recency is useless, since each loop key returns just after it
 * would have been evicted. Working set = Zipf keys + loop keys.
 */
export function loopTrace({ objects, loop, length, theta = 0.99, loopShare = 0.5, seed = 1 }) {
  const z = zipfTrace(length, objects, theta, seed);
  const r = rng(seed ^ 0x68e31da4);
  const ids = new Uint32Array(length);
  let zi = 0, li = 0;
  for (let i = 0; i < length; i++) ids[i] = r() < loopShare ? objects + (li++ % loop) : z[zi++];
  return {
    name: `loop-${short(objects)}`,
    ids,
    sizes: null,
    objects: objects + loop,
    workingSetBytes: objects + loop,
    note: `Zipf(${theta}) over ${short(objects)} keys, ${loopShare * 100}% of requests a cyclic loop over ${short(loop)} other keys, ${short(length)} requests`,
  };
}

function short(x) {
  return x >= 1e6 && x % 1e6 === 0 ? `${x / 1e6}M` : x >= 1e3 && x % 1e3 === 0 ? `${x / 1e3}k` : String(x);
}
