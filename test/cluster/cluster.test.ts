/**
 * Multi-node behaviour over real gRPC on loopback, with real ArenaCache groups.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Cluster,
  DeadlineError,
  LoaderError,
  NOT_FOUND,
  PeerUnavailableError,
  StaticMembership,
  type Group,
  type GroupOptions,
  type LoadResult,
  type NodeInfo,
} from '../../src/cluster/index.js';
import { ArenaCache, type ArenaCacheOptions } from '../../src/core/index.js';
import { ClusterHarness, type TestNode } from '../helpers/cluster-harness.js';
import { KillableProxy } from '../helpers/cluster-proxy.js';
import { freePort } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';
import { grpcTransport } from '../../src/transport/index.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let harness: ClusterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

type LoadFn = (node: string, key: string) => Promise<LoadResult> | LoadResult;

/** Creates group `name` on every node with a loader that records (node, key) and calls `fn`. */
async function groupEverywhere(
  h: ClusterHarness,
  name: string,
  fn: LoadFn,
  opts: Partial<GroupOptions> = {},
): Promise<{ groups: Map<string, Group>; loads: Array<[string, string]> }> {
  const loads: Array<[string, string]> = [];
  const groups = new Map<string, Group>();
  for (const n of h.nodes) {
    const g = await n.cluster.addGroup(name, {
      maxBytes: 4 << 20,
      ...opts,
      load: (key) => {
        loads.push([n.id, key]);
        return fn(n.id, key);
      },
    });
    groups.set(n.id, g);
  }
  return { groups, loads };
}

/** A key owned by `owner` (by the shared ring). */
function keyOwnedBy(h: ClusterHarness, owner: TestNode, prefix = 'k'): string {
  for (let i = 0; i < 100_000; i++) {
    const k = `${prefix}-${i}`;
    if (h.ownerOf(k) === owner) return k;
  }
  throw new Error('no key found');
}

describe('cluster over gRPC', () => {
  it('1,000 concurrent gets of one missing key over 3 nodes run the loader exactly once', async () => {
    harness = await ClusterHarness.start(3);
    const { groups, loads } = await groupEverywhere(harness, 'users', async (_node, key) => {
      await sleep(30);
      return `value of ${key}`;
    });
    const gs = [...groups.values()];
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => gs[i % 3]!.get('the-key')));
    expect(loads).toEqual([[harness.ownerOf('the-key').id, 'the-key']]);
    for (const r of results) expect(text(r)).toBe('value of the-key');
    const coalesced = gs.reduce((s, g) => s + g.stats().coalesced, 0);
    expect(coalesced).toBeGreaterThan(990);
  });

  it('loads each of 10,000 keys only on its owner, and every node returns identical bytes', async () => {
    harness = await ClusterHarness.start(3);
    const { groups, loads } = await groupEverywhere(
      harness,
      'items',
      (_node, key) => {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = (key.charCodeAt(i % key.length) * (i + 7)) & 0xff;
        return b;
      },
      { maxBytes: 8 << 20 },
    );
    const keys = Array.from({ length: 10_000 }, (_, i) => `item:${i}`);
    const gs = harness.nodes.map((n) => groups.get(n.id)!);
    const answers = new Map<string, string[]>();
    for (let off = 0; off < keys.length; off += 1000) {
      const chunk = keys.slice(off, off + 1000);
      const per = await Promise.all(gs.map((g) => g.getMany(chunk)));
      chunk.forEach((k, i) => answers.set(k, per.map((vals) => Buffer.from(vals[i]!).toString('hex'))));
    }
    expect(loads.length).toBe(keys.length);
    const loadedOn = new Map(loads.map(([node, key]) => [key, node]));
    const owners = new Map<string, number>();
    for (const k of keys) {
      const owner = harness.ownerOf(k).id;
      expect(loadedOn.get(k)).toBe(owner);
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
      const [a, b, c] = answers.get(k)!;
      expect(a).toHaveLength(32);
      expect(b).toBe(a);
      expect(c).toBe(a);
    }
    expect(owners.size).toBe(3);
    // Every node computes the same owner for every key.
    for (const k of keys.slice(0, 500)) {
      const ids = harness.nodes.map((n) => n.cluster.owner(k).id);
      expect(new Set(ids).size).toBe(1);
    }
  });

  it('coalesces concurrent fetches for one peer into far fewer RPCs than keys', async () => {
    harness = await ClusterHarness.start(2);
    const { groups } = await groupEverywhere(harness, 'batch', (_n, key) => `v:${key}`);
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const keys: string[] = [];
    for (let i = 0; keys.length < 200; i++) if (harness.ownerOf(`b-${i}`) === n2) keys.push(`b-${i}`);
    const values = await Promise.all(keys.map((k) => groups.get(n1.id)!.get(k)));
    expect(values.map(text)).toEqual(keys.map((k) => `v:${k}`));
    const server = n2.cluster.stats().server;
    const rpcs = server.get.calls + server.getMany.calls + server.stream.calls;
    expect(server.get.keys + server.getMany.keys + server.stream.keys).toBe(200);
    expect(rpcs).toBeGreaterThan(0);
    expect(rpcs).toBeLessThanOrEqual(2);
    const st = groups.get(n1.id)!.stats();
    expect(st.batches).toBe(rpcs);
    expect(st.batchedKeys).toBe(200);
    expect(st.maxBatchSize).toBeGreaterThan(100);
  });

  it('coalesces fetches issued over several event-loop turns with a timer window', async () => {
    harness = await ClusterHarness.start(2, { batch: { windowUs: 200_000 } });
    const { groups } = await groupEverywhere(harness, 'batch', (_n, key) => `v:${key}`);
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const keys: string[] = [];
    for (let i = 0; keys.length < 60; i++) if (harness.ownerOf(`w-${i}`) === n2) keys.push(`w-${i}`);
    const pending: Promise<Uint8Array | undefined>[] = [];
    for (let i = 0; i < keys.length; i++) {
      pending.push(groups.get(n1.id)!.get(keys[i]!));
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    const values = await Promise.all(pending);
    expect(values.map(text)).toEqual(keys.map((k) => `v:${k}`));
    const server = n2.cluster.stats().server;
    expect(server.stream.keys + server.getMany.keys + server.get.keys).toBe(60);
    // Six event-loop turns of requests; a 200 ms window gathers them into fewer batches than turns.
    expect(server.stream.calls + server.getMany.calls + server.get.calls).toBeLessThan(6);
  });

  it('serves a not-found result as not-found everywhere and caches it on the owner', async () => {
    harness = await ClusterHarness.start(3);
    const { groups, loads } = await groupEverywhere(harness, 'nf', () => NOT_FOUND, { notFoundTtl: 60_000 });
    const key = 'missing';
    for (const g of groups.values()) {
      const r = await g.getResult(key);
      expect(r.found).toBe(false);
      expect(r.value).toBeUndefined();
      expect(await g.get(key)).toBeUndefined();
    }
    expect(loads).toEqual([[harness.ownerOf(key).id, key]]);
    const owner = groups.get(harness.ownerOf(key).id)!;
    expect((await owner.getResult(key)).source).toBe('main');
  });

  it('delivers a loader error to every waiting caller on every node and does not cache it', async () => {
    harness = await ClusterHarness.start(3);
    let fail = true;
    const h = harness;
    const { groups, loads } = await groupEverywhere(harness, 'err', async (_n, key) => {
      if (fail) {
        // Fail only once both other nodes' fetches have reached the owner, so they share this load.
        const server = () => h.ownerOf('k').cluster.stats().server;
        await waitFor('both other nodes\' fetches at the owner', () => server().get.calls + server().getMany.calls + server().stream.calls >= 2, 5_000);
        throw new Error('database down');
      }
      return `ok:${key}`;
    });
    const gs = [...groups.values()];
    const settled = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => gs[i % 3]!.get('k')));
    expect(loads.length).toBe(1);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const err = (s as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(LoaderError);
      expect(String(err.message)).toContain('database down');
    }
    fail = false;
    for (const g of gs) expect(text(await g.get('k'))).toBe('ok:k');
    expect(loads.length).toBe(2);
  });

  it("a hung owner loader ends in DeadlineError for remote callers and releases the key", async () => {
    harness = await ClusterHarness.start(2);
    let hang = true;
    const { groups } = await groupEverywhere(
      harness,
      'slow',
      (_n, key) => (hang ? new Promise<never>(() => {}) : `ok:${key}`),
      { loadTimeout: 150, peerTimeout: 3000 },
    );
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const key = keyOwnedBy(harness, n2);
    await expect(groups.get(n1.id)!.get(key)).rejects.toBeInstanceOf(DeadlineError);
    await expect(groups.get(n2.id)!.get(key)).rejects.toBeInstanceOf(DeadlineError);
    hang = false;
    expect(text(await groups.get(n1.id)!.get(key))).toBe(`ok:${key}`);
    expect(groups.get(n2.id)!.stats().loadTimeouts).toBe(2);
    expect(groups.get(n1.id)!.stats().localFallbacks).toBe(0);
  });
});

describe('owner failure', () => {
  it('loads locally when the owner is gone; no caller hangs', async () => {
    harness = await ClusterHarness.start(3);
    const { groups, loads } = await groupEverywhere(harness, 'fo', (node, key) => `${key}@any`, {
      peerTimeout: 1000,
    });
    const [n1, , n3] = harness.nodes as [TestNode, TestNode, TestNode];
    const keys: string[] = [];
    for (let i = 0; keys.length < 50; i++) if (harness.ownerOf(`f-${i}`) === n3) keys.push(`f-${i}`);
    await n3.cluster.close(); // killed: the others' memberships still list it
    const results = await Promise.all(keys.map((k) => groups.get(n1.id)!.getResult(k)));
    for (let i = 0; i < keys.length; i++) {
      expect(results[i]!.found).toBe(true);
      expect(text(results[i]!.value)).toBe(`${keys[i]}@any`);
      expect(results[i]!.source).toBe('fallback');
    }
    expect(loads.every(([node]) => node === n1.id)).toBe(true);
    const st = groups.get(n1.id)!.stats();
    expect(st.localFallbacks).toBe(50);
    expect(st.peerErrors).toBe(50);
    // Fallback results live in the hot cache: the next get does not call the loader again.
    expect((await groups.get(n1.id)!.getResult(keys[0]!)).source).toBe('hot');
  });

  it('owner crashes while fetches are in flight: every caller gets its value by local load', async () => {
    harness = await ClusterHarness.start(3);
    const h = harness;
    const [n1, , n3] = h.nodes as [TestNode, TestNode, TestNode];
    // node-1 reaches node-3 through a proxy that can crash the connection.
    const [host, port] = n3.cluster.self.grpcAddress.split(':') as [string, string];
    const proxy = new KillableProxy({ host, port: Number(port) });
    const via = await proxy.start();
    try {
      n1.membership.set(h.infos().map((n) => (n.id === n3.id ? { ...n, grpcAddress: via } : n)));
      let entered!: () => void;
      const ownerLoading = new Promise<void>((r) => (entered = r));
      const { groups, loads } = await groupEverywhere(h, 'crash', (node, key) => {
        if (node === n3.id) {
          entered();
          return new Promise<never>(() => {}); // the owner never finishes: only the crash ends it
        }
        return `${key} loaded by ${node}`;
      });
      const keys: string[] = [];
      for (let i = 0; keys.length < 50; i++) if (h.ownerOf(`c-${i}`) === n3) keys.push(`c-${i}`);
      const pending = keys.map((k) => groups.get(n1.id)!.getResult(k));
      await ownerLoading;
      await proxy.kill();
      const results = await Promise.all(pending);
      results.forEach((r, i) => {
        expect(r.source).toBe('fallback');
        expect(text(r.value)).toBe(`${keys[i]} loaded by ${n1.id}`);
      });
      expect(loads.filter(([node]) => node === n1.id)).toHaveLength(50);
      // Later gets of other keys of the dead owner fail fast (connection refused) and load locally.
      const later = keys.length;
      for (let i = 0, found = 0; found < 5; i++) {
        const k = `late-${i}`;
        if (h.ownerOf(k) !== n3) continue;
        found++;
        expect((await groups.get(n1.id)!.getResult(k)).source).toBe('fallback');
      }
      expect(groups.get(n1.id)!.stats().localFallbacks).toBe(later + 5);
    } finally {
      await proxy.kill();
    }
  });

  it('an owner that accepts connections but never answers costs one deadline, then local load', async () => {
    const net = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const blackhole = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as { port: number }).port;
    try {
      harness = await ClusterHarness.start(1);
      const { groups } = await groupEverywhere(harness, 'bh', (_n, key) => `local:${key}`, { peerTimeout: 300 });
      const n1 = harness.nodes[0]!;
      const ghost: NodeInfo = { id: 'ghost', grpcAddress: `127.0.0.1:${port}`, weight: 100 };
      n1.membership.set([n1.cluster.self, ghost]);
      const key = (() => {
        for (let i = 0; ; i++) if (n1.cluster.owner(`g-${i}`).id === 'ghost') return `g-${i}`;
      })();
      const r = await groups.get(n1.id)!.getResult(key);
      expect(r.source).toBe('fallback');
      expect(text(r.value)).toBe(`local:${key}`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => blackhole.close(r));
    }
  });

  it('an owner without the group (rolling deploy) answers FAILED_PRECONDITION and the caller loads locally', async () => {
    harness = await ClusterHarness.start(2);
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const g1 = await n1.cluster.addGroup('new-group', { maxBytes: 1 << 20, load: (k) => `v:${k}` });
    const key = keyOwnedBy(harness, n2);
    const r = await g1.getResult(key);
    expect(r.source).toBe('fallback');
    expect(text(r.value)).toBe(`v:${key}`);
    expect(n2.cluster.stats().server.errors).toEqual({ FAILED_PRECONDITION: 1 });
    expect(g1.stats()).toMatchObject({ peerErrors: 1, localFallbacks: 1, loads: 1 });
  });

  it('with fallback disabled, an unreachable owner is a PeerUnavailableError', async () => {
    harness = await ClusterHarness.start(2);
    const { groups, loads } = await groupEverywhere(harness, 'nofb', (_n, k) => k, { fallbackToLocalLoad: false });
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const key = keyOwnedBy(harness, n2);
    await n2.cluster.close();
    await expect(groups.get(n1.id)!.get(key)).rejects.toMatchObject({ name: 'PeerUnavailableError', peerId: n2.id });
    expect(loads).toEqual([]);
  });
});

describe('writes while the owner is not (yet) listening', () => {
  /** node-1 with a peer "late" at a free port nobody listens on yet; its channel has failed once. */
  async function withLatePeer(peerTimeout: number) {
    harness = await ClusterHarness.start(1);
    const n1 = harness.nodes[0]!;
    const g1 = await n1.cluster.addGroup('w', { maxBytes: 1 << 20, peerTimeout, load: (k) => `local:${k}` });
    const late: NodeInfo = { id: 'late', grpcAddress: `127.0.0.1:${await freePort()}` };
    n1.membership.set([n1.cluster.self, late]);
    const peer = n1.cluster.peers()[0]!;
    // A fail-fast call would now fail at once with UNAVAILABLE (connection refused).
    await waitFor('the channel to the late peer has failed once', () => peer.state() === 'TRANSIENT_FAILURE', 5_000, () => peer.state());
    const keys: string[] = [];
    for (let i = 0; keys.length < 2; i++) if (n1.cluster.owner(`w-${i}`).id === 'late') keys.push(`w-${i}`);
    return { n1, g1, late, keys: keys as [string, string] };
  }

  it('a set / remove issued before the owner listens succeeds once it comes up within the deadline', async () => {
    const { n1, g1, late, keys } = await withLatePeer(10_000);
    let lateCluster: Cluster | undefined;
    try {
      const setting = g1.set(keys[0], 'written early');
      const removing = g1.remove(keys[1]);
      let settled = false;
      void Promise.allSettled([setting, removing]).then(() => (settled = true));
      await sleep(300);
      expect(settled).toBe(false); // waiting for the owner, not failed
      lateCluster = new Cluster({
        self: { id: late.id, grpcAddress: late.grpcAddress },
        transport: grpcTransport({ host: '127.0.0.1', port: Number(late.grpcAddress.split(':')[1]), shutdownGraceMs: 100 }),
        membership: (self) => new StaticMembership([n1.cluster.self, self]),
      });
      const gl = await lateCluster.addGroup('w', { maxBytes: 1 << 20, load: (k) => `owner:${k}` });
      await lateCluster.start();
      await setting;
      expect(await removing).toBe(false);
      const onOwner = await gl.getResult(keys[0]);
      expect([onOwner.source, text(onOwner.value)]).toEqual(['main', 'written early']);
      expect(gl.stats()).toMatchObject({ sets: 1, removes: 1 });
      expect(text(await g1.get(keys[0]))).toBe('written early');
    } finally {
      await lateCluster?.close();
    }
  });

  it('an owner that never comes up: writes fail with PeerUnavailableError at their deadline; gets fall back at once', async () => {
    const { g1, keys } = await withLatePeer(400);
    const err = await g1.set(keys[0], 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerUnavailableError);
    expect((err as PeerUnavailableError).reason).toBe('timeout'); // it waited for the owner
    await expect(g1.remove(keys[1])).rejects.toBeInstanceOf(PeerUnavailableError);
    // Gets stay fail-fast: with a 60 s peer deadline the fallback still comes from the refused call.
    const g2 = await harness!.nodes[0]!.cluster.addGroup('w2', { maxBytes: 1 << 20, peerTimeout: 60_000, load: (k) => `local:${k}` });
    const r = await g2.getResult(keys[0]);
    expect([r.source, text(r.value)]).toEqual(['fallback', `local:${keys[0]}`]);
    expect(g2.stats()).toMatchObject({ peerErrors: 1, localFallbacks: 1 });
  });
});

describe('a static peer that starts after this node', () => {
  it('calls refused while the channel waits to reconnect do not make it suspect', async () => {
    // The channel's first attempt is refused; its next one is a minute away. Every fail-fast call
    // until then is refused unsent by gRPC, although the peer listens by then (a static cluster
    // starting in any order, where the backoff is up to 2 s).
    const backoff = { 'grpc.initial_reconnect_backoff_ms': 60_000, 'grpc.max_reconnect_backoff_ms': 60_000 };
    harness = await ClusterHarness.start(1, { grpc: { channelOptions: backoff } });
    const n1 = harness.nodes[0]!;
    const g1 = await n1.cluster.addGroup('s', { maxBytes: 1 << 20, load: (k) => `local:${k}` });
    const late: NodeInfo = { id: 'late', grpcAddress: `127.0.0.1:${await freePort()}` };
    const suspects: string[] = [];
    n1.cluster.on('peer-suspect', (p: NodeInfo) => suspects.push(p.id));
    n1.membership.set([n1.cluster.self, late]);
    const peer = n1.cluster.peers()[0]!;
    await waitFor('the channel to the late peer has failed once', () => peer.state() === 'TRANSIENT_FAILURE', 5_000, () => peer.state());
    const lateCluster = new Cluster({
      self: { id: late.id, grpcAddress: late.grpcAddress },
      transport: grpcTransport({ host: '127.0.0.1', port: Number(late.grpcAddress.split(':')[1]), shutdownGraceMs: 100 }),
      membership: (self) => new StaticMembership([n1.cluster.self, self]),
    });
    try {
      await lateCluster.addGroup('s', { maxBytes: 1 << 20, load: (k) => `owner:${k}` });
      await lateCluster.start();
      const owned = (owner: string, n: number) => {
        const keys: string[] = [];
        for (let i = 0; keys.length < n; i++) if (n1.cluster.owner(`s-${i}`).id === owner) keys.push(`s-${i}`);
        return keys;
      };
      // Gets of its keys (the fetch stream), writes of this node's keys (their invalidations), a flush.
      for (const k of owned('late', 5)) expect((await g1.getResult(k)).source).toBe('fallback');
      for (const k of owned(n1.id, 3)) await g1.set(k, 'v');
      const flushed = await g1.flush();
      expect(flushed.map((r) => [r.id, r.ok, (r.error as PeerUnavailableError | undefined)?.reason])).toEqual([
        [n1.id, true, undefined],
        ['late', false, 'unreachable'],
      ]);
      expect(g1.stats()).toMatchObject({ localFallbacks: 5, invalidationErrors: 3 });
      // None of those calls reached it: it missed nothing, so it is not suspect.
      expect([peer.suspect, peer.breakerState, suspects]).toEqual([false, 'closed', []]);
    } finally {
      await lateCluster.close();
    }
  });
});

describe('ring disagreement', () => {
  it('a get terminates without looping when A thinks B owns k and B thinks A owns k', async () => {
    harness = await ClusterHarness.start(2);
    const { groups, loads } = await groupEverywhere(harness, 'loop', (node, key) => `${key} from ${node}`);
    const [a, b] = harness.nodes as [TestNode, TestNode];
    // Weight 0 takes a node off its own view of the ring: A's ring is all B, B's ring is all A.
    a.membership.set([{ ...a.cluster.self, weight: 0 }, b.cluster.self]);
    b.membership.set([a.cluster.self, { ...b.cluster.self, weight: 0 }]);
    expect(a.cluster.owner('k').id).toBe(b.id);
    expect(b.cluster.owner('k').id).toBe(a.id);

    expect(text(await groups.get(a.id)!.get('k'))).toBe(`k from ${b.id}`);
    expect(text(await groups.get(b.id)!.get('k2'))).toBe(`k2 from ${a.id}`);
    const sa = a.cluster.stats().server;
    const sb = b.cluster.stats().server;
    // Each node received exactly the one request the other sent, and forwarded nothing.
    expect(sb.get.calls + sb.getMany.calls + sb.stream.calls).toBe(1);
    expect(sa.get.calls + sa.getMany.calls + sa.stream.calls).toBe(1);
    expect(loads).toEqual([
      [b.id, 'k'],
      [a.id, 'k2'],
    ]);
  });
});

describe('set / remove and hot caches', () => {
  it('set and remove reach the owner and clear hot caches on the other nodes', async () => {
    harness = await ClusterHarness.start(3);
    const { groups, loads } = await groupEverywhere(harness, 'hot', (_n, key) => `loaded:${key}`, { hotAfter: 1 });
    const [n1, n2, n3] = harness.nodes as [TestNode, TestNode, TestNode];
    const key = keyOwnedBy(harness, n3);
    const [g1, g2, g3] = [groups.get(n1.id)!, groups.get(n2.id)!, groups.get(n3.id)!];

    expect((await g1.getResult(key)).source).toBe('peer');
    expect((await g2.getResult(key)).source).toBe('peer');
    expect((await g1.getResult(key)).source).toBe('hot');
    expect((await g2.getResult(key)).source).toBe('hot');
    expect(loads.length).toBe(1);

    await g1.set(key, 'new value');
    const onOwner = await g3.getResult(key);
    expect(onOwner.source).toBe('main');
    expect(text(onOwner.value)).toBe('new value');
    const r2 = await g2.getResult(key);
    expect(text(r2.value)).toBe('new value');
    expect(r2.source).toBe('peer');
    expect(text(await g1.get(key))).toBe('new value');
    expect(g2.stats().hotInvalidations).toBeGreaterThanOrEqual(1);
    expect(g3.stats().invalidationsSent).toBe(2);

    expect(await g2.remove(key)).toBe(true);
    expect(await g2.remove(key)).toBe(false);
    const after = await g1.getResult(key);
    expect(text(after.value)).toBe(`loaded:${key}`);
    expect(after.source).toBe('peer');
    expect(loads.length).toBe(2);
  });

  it('set with a ttl expires on the owner; removeMany spans owners', async () => {
    let now = 1_000_000; // fake time for the (real) caches' TTLs
    harness = await ClusterHarness.start(3, {
      cacheFactory: (o: ArenaCacheOptions) => ArenaCache.create({ ...o, clock: () => now }),
    });
    const { groups } = await groupEverywhere(harness, 'ttl', (_n, key) => `loaded:${key}`);
    const g1 = groups.get('node-1')!;
    await g1.set('short', 'temporary', { ttl: 40 });
    now += 39;
    expect(text(await g1.get('short'))).toBe('temporary');
    now += 1;
    expect(text(await g1.get('short'))).toBe('loaded:short');

    const keys = Array.from({ length: 30 }, (_, i) => `rm-${i}`);
    await Promise.all(keys.map((k) => g1.set(k, `set:${k}`)));
    const owners = new Set(keys.map((k) => harness!.ownerOf(k).id));
    expect(owners.size).toBe(3);
    expect(await groups.get('node-2')!.removeMany([...keys, 'never-set'])).toBe(30);
    const vals = await groups.get('node-3')!.getMany(keys);
    expect(vals.map(text)).toEqual(keys.map((k) => `loaded:${k}`));
  });

  it('values up to the group limit fit the hot cache too (fetched copies and fallback loads)', async () => {
    harness = await ClusterHarness.start(2);
    const big = (tag: string) => tag.padEnd(600_000, '.'); // over a 16-segment hot cache's segment
    const { groups } = await groupEverywhere(harness, 'big', (node, key) => big(`${key}@${node}`), {
      maxBytes: 16 << 20,
      hotAfter: 1,
    });
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const g1 = groups.get(n1.id)!;
    expect(g1.maxValueBytes).toBeGreaterThan(600_000);
    const hotSegments = g1.cacheStats().hot!.segments;
    expect(hotSegments[0]!.budget).toBeGreaterThan(g1.maxValueBytes);
    const [k1, k2] = [keyOwnedBy(harness, n2, 'a'), keyOwnedBy(harness, n2, 'b')];
    expect((await g1.getResult(k1)).source).toBe('peer');
    const again = await g1.getResult(k1);
    expect([again.source, text(again.value)]).toEqual(['hot', big(`${k1}@${n2.id}`)]);
    await n2.cluster.close();
    expect((await g1.getResult(k2)).source).toBe('fallback');
    const cached = await g1.getResult(k2);
    expect([cached.source, text(cached.value)]).toEqual(['hot', big(`${k2}@${n1.id}`)]);
    expect(g1.cacheStats().hot!.rejected).toBe(0);
  });

  it('a set racing an in-flight load wins: the stale load result is not cached', async () => {
    harness = await ClusterHarness.start(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const loading = new Promise<void>((r) => (entered = r));
    const { groups } = await groupEverywhere(harness, 'race', async (_n, key) => {
      entered();
      await gate;
      return `old:${key}`;
    });
    const [n1, n2] = harness.nodes as [TestNode, TestNode];
    const key = keyOwnedBy(harness, n2);
    const slow = groups.get(n1.id)!.get(key);
    await loading; // the load is running on the owner
    await groups.get(n1.id)!.set(key, 'new');
    release();
    expect(text(await slow)).toBe(`old:${key}`); // it started before the set
    expect(text(await groups.get(n2.id)!.get(key))).toBe('new');
    expect(text(await groups.get(n1.id)!.get(key))).toBe('new');
    expect(groups.get(n2.id)!.stats().staleDrops).toBe(1);
  });
});

describe('membership changes', () => {
  it('opens a channel when a peer joins and closes it when it leaves; rings agree', async () => {
    harness = await ClusterHarness.start(2);
    const h = harness;
    const [n1] = h.nodes as [TestNode];
    const added: string[] = [];
    const removed: string[] = [];
    n1.cluster.on('peer-added', (n: NodeInfo) => added.push(n.id));
    n1.cluster.on('peer-removed', (n: NodeInfo) => removed.push(n.id));
    const n3 = await h.add('node-3');
    h.syncMembership();
    expect(added).toEqual(['node-3']);
    expect(n1.cluster.peers().map((p) => p.id).sort()).toEqual(['node-2', 'node-3']);
    for (let i = 0; i < 300; i++) {
      const owners = new Set(h.nodes.map((n) => n.cluster.owner(`m-${i}`).id));
      expect(owners.size).toBe(1);
    }
    const client = n1.cluster.peers().find((p) => p.id === 'node-3')!;
    h.syncMembership(h.infos().filter((n) => n.id !== 'node-3'));
    expect(removed).toEqual(['node-3']);
    expect(client.state()).toBe('SHUTDOWN');
    expect(n1.cluster.peers().map((p) => p.id)).toEqual(['node-2']);
    expect(n3.cluster.closed).toBe(false);
  });
});
