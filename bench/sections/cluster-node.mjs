// One cluster node in its own process (cluster and herd sections). Driven over IPC:
//   init {id, clients}   → binds gRPC on 127.0.0.1:0, replies {type:'listening', self, clients}
//   members {nodes}      → sets the membership, starts, replies {type:'ready'}
//   fetch {...}          → time-boxed get loop with N callers in flight, replies {type:'fetched', ...}
//   herd {key, count}    → `count` concurrent gets of one key, replies {type:'herded', ...}
//   stats                → per-group load counters and group stats
//   close                → closes and exits
import { closedLoop } from '../lib/closed-loop.mjs';

const DIST = new URL('../../dist/cluster/index.js', import.meta.url).href;
const { Cluster, ManualMembership } = await import(DIST);
const { grpcTransport } = await import(new URL('../../dist/transport/index.js', import.meta.url).href);

const now = () => performance.now();
const loads = {};
let herdDelayMs = 20;
const valueFor = (key, size) => {
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i += 97) v[i] = (key.charCodeAt(key.length - 1) + i) & 255;
  return v;
};
const GROUPS = [
  { name: 'v100', size: 100, maxBytes: 64 << 20 },
  { name: 'v16k', size: 16384, maxBytes: 128 << 20 },
];

function makeGroups(cluster) {
  for (const g of GROUPS) {
    cluster.group(g.name, {
      maxBytes: g.maxBytes,
      hotCacheFraction: 0, // every get of a key another node owns is a peer fetch
      fallbackToLocalLoad: false,
      load: async (key) => {
        loads[g.name] = (loads[g.name] ?? 0) + 1;
        return valueFor(key, g.size);
      },
    });
  }
  cluster.group('herd', {
    maxBytes: 16 << 20,
    hotCacheFraction: 0,
    load: async (key) => {
      loads.herd = (loads.herd ?? 0) + 1;
      await new Promise((r) => setTimeout(r, herdDelayMs));
      return valueFor(key, 100);
    },
  });
}

let id;
let main;
let manual;
const clients = {}; // name → { cluster, manual }

async function fetchRun({ cluster: which, group, inflight, durationMs, keyCount }) {
  const c = which === 'main' ? main : clients[which].cluster;
  const self = c.self.id;
  // keys another node owns (for the main node and for the client view alike)
  const keys = [];
  for (let i = 0; keys.length < keyCount; i++) {
    const k = `${group}:${i}`;
    if (c.owner(k).id !== self && main.owner(k).id !== id) keys.push(k);
  }
  const g = c.group(group);
  const before = g.stats();
  const r = await closedLoop(keys, inflight, durationMs, (k) => g.get(k));
  const after = g.stats();
  return {
    ...r,
    peerFetches: after.peerFetches - before.peerFetches,
    batches: after.batches - before.batches,
    batchedKeys: after.batchedKeys - before.batchedKeys,
    coalesced: after.coalesced - before.coalesced,
  };
}

async function herd({ group, key, count }) {
  const g = main.group(group);
  let ok = 0;
  let errors = 0;
  let firstError = null;
  const start = performance.timeOrigin + now();
  const sources = {};
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        const r = await g.getResult(key);
        if (r.found) ok++;
        else errors++;
        sources[r.source] = (sources[r.source] ?? 0) + 1;
      } catch (e) {
        errors++;
        firstError ??= e.message;
      }
    }),
  );
  const end = performance.timeOrigin + now();
  return { start, end, ok, errors, firstError, sources };
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'init') {
      id = m.id;
      herdDelayMs = m.herdDelayMs ?? herdDelayMs;
      manual = new ManualMembership();
      main = new Cluster({ self: { id }, transport: grpcTransport({ host: '127.0.0.1', port: 0 }), membership: manual });
      makeGroups(main);
      const self = await main.listen();
      const out = {};
      for (const c of m.clients ?? []) {
        const cm = new ManualMembership();
        const cluster = new Cluster({ self: { id: `${id}-${c.name}` }, transport: grpcTransport({ host: '127.0.0.1', port: 0, batch: c.batch }), membership: cm });
        makeGroups(cluster);
        out[c.name] = await cluster.listen();
        clients[c.name] = { cluster, manual: cm };
      }
      process.send({ type: 'listening', self, clients: out });
    } else if (m.cmd === 'members') {
      manual.set(m.nodes);
      await main.start();
      for (const { cluster, manual: cm } of Object.values(clients)) {
        cm.set([cluster.self, ...m.nodes.filter((n) => n.id !== id)]);
        await cluster.start();
      }
      process.send({ type: 'ready' });
    } else if (m.cmd === 'fetch') {
      process.send({ type: 'fetched', data: await fetchRun(m) });
    } else if (m.cmd === 'herd') {
      process.send({ type: 'herded', data: await herd(m) });
    } else if (m.cmd === 'stats') {
      process.send({ type: 'stats', data: { loads: { ...loads } } });
    } else if (m.cmd === 'close') {
      await Promise.all([main?.close(), ...Object.values(clients).map((c) => c.cluster.close())]);
      process.send({ type: 'closed' }, () => process.exit(0));
    }
  } catch (e) {
    process.send({ type: 'error', message: e.stack ?? String(e) });
  }
});
process.send({ type: 'booted' });
