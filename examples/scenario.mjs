// The embedding scenario every JavaScript runtime runs (Node, Deno, Bun, a browser): the operation
// sequence of sequence.json over the generic host wrapper (dist/core), a shared arena used by two
// threads, and a timing of get. Runtime-agnostic: no node:, Deno or Bun APIs; each runtime's
// main script supplies the wasm bytes, the sequence and a way to start a worker.
// examples/c/host.c implements the same sequence against the raw ABI; results must be identical.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a sequence key/value: a string (UTF-8) or {len, seed}: byte j = 97 + (seed + j) % 26. */
export function bytesOf(spec) {
  if (typeof spec === 'string') return encoder.encode(spec);
  const out = new Uint8Array(spec.len);
  for (let j = 0; j < spec.len; j++) out[j] = 97 + ((spec.seed + j) % 26);
  return out;
}

export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h >>> 0;
}

/** How a value appears in results: the string when short, else '#<len>:<fnv1a hex>'; null if absent. */
export function show(bytes) {
  if (bytes === undefined || bytes === null) return null;
  if (bytes.length <= 48) return decoder.decode(bytes);
  return `#${bytes.length}:${fnv1a(bytes).toString(16).padStart(8, '0')}`;
}

/** The status name an ArenaCache error stands for (the raw ABI returns these codes). */
function statusOf(error) {
  const m = String(error && error.message);
  if (/maxKeyBytes/.test(m)) return 'KEY_TOO_LONG';
  if (/maxValueBytes|one segment holds/.test(m)) return 'TOO_LARGE';
  throw error;
}

const STAT_FIELDS = ['entries', 'bytesUsed', 'hits', 'misses', 'sets', 'deletes', 'evictions', 'expirations', 'rejected'];

/**
 * Runs the sequence over a private arena created from `wasm` (the bytes of build/arenacache.wasm).
 * Returns { results, header } where results[i] is the result of ops[i].
 */
export async function runSequence(ArenaCache, spec, wasm) {
  const cfg = spec.config;
  let now = cfg.startMs;
  let evicted = [];
  const cache = await ArenaCache.create({
    wasm,
    maxBytes: cfg.maxBytes,
    segments: cfg.segments,
    policy: cfg.policy,
    seed: cfg.seed,
    maxKeyBytes: cfg.maxKeyBytes,
    maxValueBytes: cfg.maxValueBytes,
    ttl: cfg.ttl,
    clock: () => now,
    sweepIntervalMs: 0,
    onEvict: cfg.evictionLog
      ? (key, value, reason) => evicted.push([reason === 'expire' ? 2 : 1, decoder.decode(key), value.length])
      : undefined,
  });
  const opts = (op) => (op.ttl === undefined ? undefined : { ttl: op.ttl });
  const results = [];
  for (const op of spec.ops) {
    let r;
    switch (op.op) {
      case 'set':
        try {
          cache.set(bytesOf(op.key), bytesOf(op.value), opts(op));
          r = 'OK';
        } catch (e) {
          r = statusOf(e);
        }
        break;
      case 'get': r = show(cache.get(bytesOf(op.key))); break;
      case 'peek': r = show(cache.peek(bytesOf(op.key))); break;
      case 'has': r = cache.has(bytesOf(op.key)); break;
      case 'delete': r = cache.delete(bytesOf(op.key)); break;
      case 'advance': now += op.ms; r = now; break;
      case 'size': r = cache.size; break;
      case 'clear': cache.clear(); r = 'OK'; break;
      case 'purge': r = cache.purgeStale(); break;
      case 'fill': {
        r = 0;
        for (let i = 0; i < op.count; i++) {
          cache.set(bytesOf(`${op.prefix}${i}`), bytesOf({ len: op.len, seed: i }));
          r++;
        }
        break;
      }
      case 'getMany': r = cache.getMany(op.keys.map(bytesOf)).map(show); break;
      case 'setMany':
        cache.setMany(op.entries.map((e) => [bytesOf(e.key), bytesOf(e.value), opts(e)]));
        r = 'OK';
        break;
      case 'evicted': r = evicted; evicted = []; break;
      case 'stats': {
        const s = cache.stats();
        r = Object.fromEntries(STAT_FIELDS.map((f) => [f, s[f]]));
        break;
      }
      default: throw new Error(`unknown op ${op.op}`);
    }
    results.push(r);
  }
  const header = { segments: cache.segments, segmentBudget: cache.segmentBudget, maxKeyBytes: cache.maxKeyBytes, maxValueBytes: cache.maxValueBytes };
  cache.close();
  return { results, header };
}

/**
 * ns per get of a hot key: 200k gets after a warm-up, in 5 rounds; the fastest round is reported
 * (the machine is shared, so slower rounds measure the neighbours). Informational, never asserted.
 * `wrapped` goes through ArenaCache.get (key encoding, copy-out); `raw` calls the core's `get`
 * export directly (write the key bytes, call, read the length), as examples/c/host.c does.
 */
export async function timeGets(ArenaCache, wasm, iterations = 200_000) {
  const rounds = 5;
  const per = iterations / rounds;
  const value = 'a hot value of 32 bytes, really.';
  const cache = await ArenaCache.create({ wasm, maxBytes: 1 << 20, sweepIntervalMs: 0 });
  cache.set('hot-key', value);
  const wrapped = bestOf(rounds, per, () => cache.get('hot-key').length);
  cache.close();

  const { instance } = await WebAssembly.instantiate(wasm, {});
  const ex = instance.exports;
  // init(maxBytes, segments, threads, maxKey, maxValue, maxEntries, policy (2 = s3fifo), flags, defaultTtl, now, seed x4)
  if (ex.init(1 << 20, 16, 1, 1024, 65536, 0, 2, 0, 0, 0, 0, 1, 2, 3) <= 0) throw new Error('timeGets: init failed');
  const u8 = new Uint8Array(ex.memory.buffer);
  const io = ex.io_ptr(0) >>> 0;
  const key = encoder.encode('hot-key');
  u8.set(key, io);
  u8.set(encoder.encode(value), io + key.length);
  if (ex.set(0, key.length, 32, -1, 0) !== 0) throw new Error('timeGets: set failed');
  const raw = bestOf(rounds, per, () => {
    u8.set(key, io);
    return ex.get(0, key.length, 0);
  });
  return { iterations, nsPerGet: wrapped, rawNsPerGet: raw };
}

function bestOf(rounds, per, get) {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += get();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < per; i++) sink += get();
    best = Math.min(best, performance.now() - t0);
  }
  if (sink !== 32 * (20_000 + rounds * per)) throw new Error('timeGets: wrong value length');
  return Math.round((best * 1e7) / per) / 10;
}

// ---------------------------------------------------------------------------------------------
// Shared arena across two threads

export const SHARED_KEYS = 20_000;

/**
 * The main thread's half: creates a shared arena (from `wasm`, the bytes of
 * build/arenacache.shared.wasm), hands it to a worker, writes while the worker writes, then both
 * read each other's keys. `channel` is { post(msg), next(): Promise<msg>, close() }.
 */
export async function runShared(ArenaCache, wasm, channel, options = {}) {
  const { cache, handle } = await ArenaCache.createShared({
    wasm, maxBytes: 8 << 20, segments: 16, threads: 4, sweepIntervalMs: 0, canBlock: options.canBlock,
  });
  try {
    cache.set('main:hello', 'from main');
    channel.post({ type: 'attach', handle, keys: SHARED_KEYS });
    const attached = await receive(channel, 'attached');
    channel.post({ type: 'go' });
    for (let i = 0; i < SHARED_KEYS; i++) cache.set(`m:${i}`, `main value ${i}`);
    await receive(channel, 'written');
    let mainSawWorkerKeys = 0;
    for (let i = 0; i < SHARED_KEYS; i++) if (show(cache.get(`w:${i}`)) === `worker value ${i}`) mainSawWorkerKeys++;
    channel.post({ type: 'verify' });
    const verified = await receive(channel, 'verified');
    channel.post({ type: 'close' });
    await receive(channel, 'closed');
    cache.checkIntegrity();
    // After the worker detached, its slot is free again: a new attach gets the same slot.
    const again = await ArenaCache.attach(handle, { sweepIntervalMs: 0, canBlock: options.canBlock });
    const reattachedSlot = again.threadSlot;
    again.close();
    return {
      workerSlot: attached.slot,
      workerSawHello: attached.hello,
      mainSawWorkerKeys,
      workerSawMainKeys: verified.seen,
      entries: cache.size,
      reattachedSlot,
      integrity: 'ok',
    };
  } finally {
    cache.close();
    channel.close();
  }
}

async function receive(channel, type) {
  const msg = await channel.next();
  if (msg && msg.type === 'error') throw new Error(`worker: ${msg.message}`);
  if (!msg || msg.type !== type) throw new Error(`expected '${type}' from the worker, got ${JSON.stringify(msg)}`);
  return msg;
}

/** The worker's half. `onMessage(handler)` subscribes to messages from the main thread. */
export function serveShared(ArenaCache, onMessage, post) {
  let cache;
  let keys = 0;
  onMessage(async (msg) => {
    try {
      if (msg.type === 'attach') {
        cache = await ArenaCache.attach(msg.handle, { sweepIntervalMs: 0 });
        keys = msg.keys;
        post({ type: 'attached', slot: cache.threadSlot, hello: show(cache.get('main:hello')) });
      } else if (msg.type === 'go') {
        for (let i = 0; i < keys; i++) cache.set(`w:${i}`, `worker value ${i}`);
        post({ type: 'written' });
      } else if (msg.type === 'verify') {
        let seen = 0;
        for (let i = 0; i < keys; i++) if (show(cache.get(`m:${i}`)) === `main value ${i}`) seen++;
        post({ type: 'verified', seen });
      } else if (msg.type === 'close') {
        cache.close();
        post({ type: 'closed' });
      }
    } catch (e) {
      post({ type: 'error', message: String(e && e.stack || e) });
    }
  });
}

/** A channel over a web-style Worker (Deno, Bun, browsers). */
export function webWorkerChannel(worker) {
  const queue = [];
  const waiters = [];
  const deliver = (msg) => (waiters.length ? waiters.shift()(msg) : queue.push(msg));
  worker.onmessage = (e) => deliver(e.data);
  worker.onerror = (e) => {
    e.preventDefault?.();
    deliver({ type: 'error', message: e.message || 'worker error' });
  };
  return {
    post: (msg) => worker.postMessage(msg),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve))),
    close: () => worker.terminate(),
  };
}

/** Everything one runtime reports: printed as one JSON line by each example. */
export async function runAll({ runtime, ArenaCache, ABI_VERSION, spec, wasm, sharedWasm, startWorker, canBlock }) {
  const out = { runtime, abi: ABI_VERSION };
  out.sequence = await runSequence(ArenaCache, spec, wasm);
  if (startWorker) out.shared = await runShared(ArenaCache, sharedWasm, startWorker(), { canBlock });
  out.perf = await timeGets(ArenaCache, wasm);
  out.wasmBytes = { release: wasm.byteLength, shared: sharedWasm ? sharedWasm.byteLength : undefined };
  return out;
}
