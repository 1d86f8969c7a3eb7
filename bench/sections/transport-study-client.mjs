// Transport study, client side (its own process). Every variant fetches the same keys from the
// owner process with N callers in flight (closed loop), checks every value, and reports keys/s,
// p50/p99 latency, RPCs and this process's CPU time. Variants:
//   today        proto-loader's dynamic codec, batched by event-loop turn, Get for single keys: the
//                path nodes ran before issue 14 (its KeyBatcher is gone; a tiny copy is below)
//   unary-turn   (a) Coalescer, one turn, unary GetMany, wire codec
//   unary-window (b) Coalescer with a window, an in-flight limit and a batch-bytes cap, unary GetMany
//   stream       (c) Coalescer (one turn), one long-lived bidi stream per peer carrying batch frames
//   stream-window    (c) with (b)'s coalescing
//   stream-win4m     (c) with a 4 MiB HTTP/2 receive window instead of grpc-js' 64 KiB default
//   redis        ioredis GET against redis-server; redis-auto: with auto-pipelining
// Driven over IPC: {cmd:'run', variant, group, size, keyCount, inflight, ms} → {type:'ran', ...}.
import * as grpc from '@grpc/grpc-js';
import { batchHead, readBatchId } from '../lib/batch-frame.mjs';
import { percentile } from '../lib/stats.mjs';

const cfg = JSON.parse(process.argv[2]);
const DIST = new URL('../../dist/', import.meta.url);
const wire = await import(new URL('transport/wire/index.js', DIST).href);
const { Coalescer } = await import(new URL('transport/coalescer.js', DIST).href);
const { peerService } = await import(new URL('transport/proto.js', DIST).href);
const { default: Redis } = await import('ioredis');

const MAX_MESSAGE = (8 << 20) + (64 << 10);
const TIMEOUT_MS = 5000;
const channelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE,
  'grpc.max_send_message_length': MAX_MESSAGE,
  // One connection per variant: grpc-js would otherwise share one subchannel between clients
  // with the same target and options, and the variants would share an HTTP/2 connection.
  'grpc.use_local_subchannel_pool': 1,
  // HTTP/2 receive window (stream and connection); grpc-js' default is 64 KiB.
  ...(cfg.flowWindow ? { 'grpc-node.flow_control_window': cfg.flowWindow } : {}),
};
const META = new grpc.Metadata();
const FOUND = wire.ItemStatus.FOUND;
const NOT_FOUND = wire.ItemStatus.NOT_FOUND;
const identity = (b) => b;

/** Answers a batch's callers from a decoded GetManyResponse: a loop over slots, no closure per key. */
function settleAll(b, r) {
  const n = b.keys.length;
  if (r.count !== n) return b.failAll(new Error(`peer answered ${r.count} items for ${n} keys`));
  for (let i = 0; i < n; i++) {
    const st = r.status[i];
    if (st === FOUND) b.settle(i, r.values[i]);
    else if (st === NOT_FOUND) b.settle(i, undefined);
    else b.fail(i, new Error(`item status ${st}`));
  }
  b.end();
}

/**
 * `options` are the coalescer's; with a byte cap, callers declare the value size they expect so the
 * cap bounds the response, not just the keys (without one, batching is by turn alone, as today).
 */
function unaryVariant(address, options) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions);
  const valueBytes = options.maxBytes !== undefined;
  const path = wire.peerWireService().GetMany.path;
  const co = new Coalescer((b) => {
    const req = wire.encodeKeysRequest({ group: b.group, keys: b.keys });
    const deadline = Date.now() + (b.deadline - performance.now());
    client.makeUnaryRequest(path, identity, wire.decodeGetManyResponse, req, META, { deadline }, (err, r) => (err ? b.failAll(err) : settleAll(b, r)));
  }, options);
  return {
    get: (group, key, size) => co.enqueue(group, key, TIMEOUT_MS, valueBytes ? size : 0),
    rpcs: () => co.stats().batches,
    close: () => client.close(),
  };
}

function streamVariant(address, options, extraChannelOptions = {}) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { ...channelOptions, ...extraChannelOptions });
  const valueBytes = options.maxBytes !== undefined;
  const inFlight = new Map();
  let nextId = 1;
  let call;
  const open = () => {
    call = client.makeBidiStreamRequest('/arenacache.v1.Peer/GetStream', identity, identity, META, {});
    call.on('data', (frame) => {
      const id = readBatchId(frame);
      const b = inFlight.get(id);
      if (b === undefined) return;
      inFlight.delete(id);
      settleAll(b, wire.decodeGetManyResponse(frame));
    });
    const fail = (err) => {
      for (const b of inFlight.values()) b.failAll(err ?? new Error('stream ended'));
      inFlight.clear();
      call = undefined;
    };
    call.on('error', fail);
    call.on('end', () => fail());
  };
  // Batches ride the stream; each caller's deadline is the coalescer's (a stream has no per-batch deadline).
  const co = new Coalescer((b) => {
    if (call === undefined) open();
    const id = nextId++;
    inFlight.set(id, b);
    call.write(wire.encodeKeysRequest({ group: b.group, keys: b.keys }, batchHead(id)));
  }, options);
  return {
    get: (group, key, size) => co.enqueue(group, key, TIMEOUT_MS, valueBytes ? size : 0),
    rpcs: () => co.stats().batches,
    close: () => {
      call?.end();
      client.close();
    },
  };
}

/** The old KeyBatcher in brief: keys asked within one event-loop turn, per group, go out as one batch. */
class KeyBatcher {
  constructor(send) {
    this.send = send;
    this.pending = new Map();
    this.scheduled = false;
  }
  enqueue(group, key, timeoutMs) {
    let b = this.pending.get(group);
    if (!b) this.pending.set(group, (b = { keys: [], waiters: [], timeoutMs }));
    const p = new Promise((resolve, reject) => b.waiters.push({ resolve, reject }));
    b.keys.push(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const pending = this.pending;
        this.pending = new Map();
        for (const [g, batch] of pending) {
          this.send(g, batch.keys, batch.timeoutMs).then(
            (results) => batch.waiters.forEach((w, i) => (results[i] instanceof Error ? w.reject(results[i]) : w.resolve(results[i]))),
            (err) => batch.waiters.forEach((w) => w.reject(err)),
          );
        }
      });
    }
    return p;
  }
}

/** What GrpcPeerClient did before issue 14 (proto-loader codec, KeyBatcher), minus error mapping and stats. */
function todayVariant(address) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions);
  const svc = peerService();
  let rpcs = 0;
  const unary = (def, req, timeoutMs) =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, META, { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  const get = async (group, key, timeoutMs) => {
    try {
      return (await unary(svc.Get, { group, key: Buffer.from(key, 'utf8') }, timeoutMs)).value;
    } catch (err) {
      if (err.code === grpc.status.NOT_FOUND) return undefined;
      throw err;
    }
  };
  const batcher = new KeyBatcher(async (group, keys, timeoutMs) => {
    rpcs++;
    if (keys.length === 1) {
      try {
        return [await get(group, keys[0], timeoutMs)];
      } catch (err) {
        return [err];
      }
    }
    const raw = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) raw[i] = Buffer.from(keys[i], 'utf8');
    const res = await unary(svc.GetMany, { group, keys: raw }, timeoutMs);
    const out = new Array(keys.length);
    for (let i = 0; i < res.items.length; i++) {
      const it = res.items[i];
      out[i] = it.status === 'FOUND' ? (it.value ?? new Uint8Array(0)) : it.status === 'NOT_FOUND' ? undefined : new Error(it.status);
    }
    return out;
  });
  return { get: (group, key) => batcher.enqueue(group, key, TIMEOUT_MS), rpcs: () => rpcs, close: () => client.close() };
}

function redisVariant(autoPipelining) {
  const client = new Redis({ host: '127.0.0.1', port: cfg.redisPort, enableAutoPipelining: autoPipelining, lazyConnect: true, maxRetriesPerRequest: 1 });
  return { connect: () => client.connect(), get: (group, key) => client.getBuffer(key), rpcs: () => 0, close: () => client.quit() };
}

const variants = {
  today: todayVariant(`127.0.0.1:${cfg.dynPort}`),
  'unary-turn': unaryVariant(`127.0.0.1:${cfg.wirePort}`, {}),
  'unary-window': unaryVariant(`127.0.0.1:${cfg.wirePort}`, cfg.windowOptions),
  stream: streamVariant(`127.0.0.1:${cfg.wirePort}`, {}),
  'stream-window': streamVariant(`127.0.0.1:${cfg.wirePort}`, cfg.windowOptions),
  'stream-win4m': streamVariant(`127.0.0.1:${cfg.wirePort}`, {}, { 'grpc-node.flow_control_window': 4 << 20 }),
  redis: redisVariant(false),
  'redis-auto': redisVariant(true),
};
await variants.redis.connect();
await variants['redis-auto'].connect();

const keysOf = new Map();
function keysFor(group, keyCount) {
  let k = keysOf.get(group);
  if (!k) {
    k = Array.from({ length: keyCount }, (_, i) => `${group}:${i}`);
    keysOf.set(group, k);
  }
  return k;
}

/** N callers loop over the keys until `ms` has passed; every value is checked (length, content). */
async function closedLoop(v, group, keys, size, inflight, ms) {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let errors = 0;
  let firstError = null;
  let next = 0;
  const end = performance.now() + ms;
  const caller = async () => {
    while (performance.now() < end) {
      const i = next++ % keys.length;
      const t = performance.now();
      try {
        const value = await v.get(group, keys[i], size);
        if (value == null || value.length !== size || value[0] !== (i & 255) || value[size - 1] !== (i & 255)) {
          errors++;
          firstError ??= `wrong value for ${keys[i]}`;
        }
      } catch (e) {
        errors++;
        firstError ??= e.message;
      }
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = performance.now() - t;
    }
  };
  const rpc0 = v.rpcs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, caller));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const l = lat.subarray(0, n);
  return {
    keys: n,
    ms: elapsed,
    keysPerSec: (n / elapsed) * 1000,
    p50Ms: percentile(l, 50),
    p99Ms: percentile(l, 99),
    errors,
    firstError,
    rpcs: v.rpcs() - rpc0,
    cpuUs: cpu.user + cpu.system,
  };
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'run') {
      const keys = keysFor(m.group, m.keyCount);
      process.send({ type: 'ran', data: await closedLoop(variants[m.variant], m.group, keys, m.size, m.inflight, m.ms) });
    } else if (m.cmd === 'close') {
      for (const v of Object.values(variants)) await v.close();
      process.send({ type: 'closed' }, () => process.exit(0));
    }
  } catch (e) {
    process.send({ type: 'error', message: e.stack ?? String(e) });
  }
});
process.send({ type: 'ready' });
