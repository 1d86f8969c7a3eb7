// One client of the cluster section, in its own long-lived process (bench/lib/serve.mjs):
//
//   {kind: 'arena', root, owner: {id, grpcAddress}, transport}  a cluster member built from `root`
//        (this checkout or a baseline) whose ring is itself and the owner; its groups have no hot
//        cache and no local fallback, so every get of a key the owner holds is a peer fetch.
//   {kind: 'redis', port, autoPipelining}  ioredis against redis-server.
//
// `run {group, size, keyCount, inflight, ms}`: a closed loop of `inflight` callers over the keys
// (bench/lib/closed-loop.mjs, the same code for both kinds), every value compared byte for byte
// with fetchValue(); reports keys, keys/s, p50/p99, errors and this process's CPU time.
import { closedLoop } from '../lib/closed-loop.mjs';
import { fetchKeys, fetchValue } from '../lib/fetch-values.mjs';
import { serve } from '../lib/serve.mjs';

const cfg = JSON.parse(process.argv[2]);
const keysOf = new Map(); // group → { keys, expected, index }

let get; // (group, key) → Promise<bytes | undefined>
let close = async () => {};
let rpcs = () => 0;

async function setUp() {
  if (cfg.kind === 'arena') {
    const { Cluster, ManualMembership } = await import(new URL('dist/cluster/index.js', `file://${cfg.root}/`).href);
    const { grpcTransport } = await import(new URL('dist/transport/index.js', `file://${cfg.root}/`).href);
    const membership = new ManualMembership();
    const cluster = new Cluster({
      self: { id: cfg.id },
      transport: grpcTransport({ host: '127.0.0.1', port: 0, ...cfg.transport }),
      membership: (self) => {
        membership.set([self, cfg.owner]);
        return membership;
      },
    });
    const groups = new Map();
    for (const g of cfg.groups) {
      groups.set(g.name, cluster.group(g.name, { maxBytes: 16 << 20, hotCacheFraction: 0, fallbackToLocalLoad: false, load: () => null }));
    }
    await cluster.start();
    get = (group, key) => groups.get(group).get(key);
    rpcs = () => [...groups.values()].reduce((n, g) => n + g.stats().batches, 0);
    close = () => cluster.close();
    // Keys the owner holds by this member's ring (the owner holds every key by its own).
    for (const g of cfg.groups) {
      const keys = [];
      for (let i = 0; keys.length < g.keyCount; i++) {
        const k = `${g.name}:${i}`;
        if (cluster.owner(k).id === cfg.owner.id) keys.push(k);
      }
      keysOf.set(g.name, { keys, expected: keys.map((k) => fetchValue(k, g.size)), index: new Map(keys.map((k, i) => [k, i])) });
    }
  } else {
    const { default: Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port: cfg.port, enableAutoPipelining: !!cfg.autoPipelining, lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    get = (_group, key) => client.getBuffer(key);
    close = () => client.quit();
    for (const g of cfg.groups) {
      const keys = fetchKeys(g.name, g.keyCount);
      keysOf.set(g.name, { keys, expected: keys.map((k) => fetchValue(k, g.size)), index: new Map(keys.map((k, i) => [k, i])) });
      if (cfg.fill) {
        for (let i = 0; i < keys.length; i += 1000) {
          const pipe = client.pipeline();
          for (let j = i; j < Math.min(keys.length, i + 1000); j++) pipe.set(keys[j], keysOf.get(g.name).expected[j]);
          await pipe.exec();
        }
      }
    }
  }
}

// Calls that arrive while the member is still setting up wait for it.
const ready = setUp();
serve({
  async run({ group, inflight, ms }) {
    await ready;
    const { keys, expected, index } = keysOf.get(group);
    let wrong = 0;
    const rpc0 = rpcs();
    const r = await closedLoop(keys, inflight, ms, async (k) => {
      const v = await get(group, k);
      if (v === undefined || v === null) return v;
      const want = expected[index.get(k)];
      if (v.length !== want.length || Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), want) !== 0) wrong++;
      return v;
    });
    return { ...r, errors: r.errors + wrong, firstError: r.firstError ?? (wrong ? `${wrong} values differ from the expected bytes` : null), rpcs: rpcs() - rpc0 };
  },
  async close() {
    await ready;
    await close();
    setImmediate(() => process.exit(0));
    return true;
  },
});
