/**
 * The fetch stream (GetStream) as a peer sees it — frames read with proto-loader's codec, the
 * independent reference — and through the cluster: cached keys are answered at once and keys the
 * owner must load in later frames, so one slow load holds up only its own key; request-level
 * problems fail their batch and the stream goes on; an undecodable frame ends the stream with
 * INVALID_ARGUMENT; a closing server answers what it took, then ends its streams; a peer without
 * GetStream is fetched from with GetMany.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, NOT_FOUND, type Group } from '../../src/cluster/index.js';
import { grpcTransport } from '../../src/transport/index.js';
import { GrpcPeerClient } from '../../src/transport/peer-client.js';
import { ClusterHarness, type TestNode } from '../helpers/cluster-harness.js';
import { RawPeerClient, type RawFrame } from '../helpers/grpc-raw.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';

const S = grpc.status;
const b = (s: string) => Buffer.from(s, 'utf8');
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString());

/** A promise and its resolve, to hold a loader until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** What a frame answers, by slot: 'FOUND:<value>', 'NOT_FOUND' or 'ERROR:<code>:<kind>'. */
function answers(f: RawFrame): Record<number, string> {
  const out: Record<number, string> = {};
  f.items.forEach((it, j) => {
    const slot = f.slots.length > 0 ? f.slots[j]! : j;
    out[slot] = it.status === 'FOUND' ? `FOUND:${text(it.value)}` : it.status === 'ERROR' ? `ERROR:${it.code}:${it.kind}` : it.status;
  });
  return out;
}

describe('GetStream, frame by frame', () => {
  let cluster: Cluster;
  let transport: ReturnType<typeof grpcTransport>;
  let group: Group;
  let loads: string[];
  let slow: ReturnType<typeof gate>;
  let raw: RawPeerClient;

  beforeEach(async () => {
    loads = [];
    slow = gate();
    transport = grpcTransport({ port: 0, shutdownGraceMs: 5000 });
    cluster = new Cluster({ self: { id: 'n1' }, transport });
    await cluster.start();
    group = await cluster.addGroup('g', {
      maxBytes: 1 << 20,
      maxKeyBytes: 16,
      load: async (key) => {
        loads.push(key);
        if (key === 'slow') await slow.opened;
        if (key === 'missing') return NOT_FOUND;
        return `v:${key}`;
      },
    });
    raw = new RawPeerClient(cluster.self.grpcAddress);
  });

  afterEach(async () => {
    slow.open();
    raw.close();
    await cluster.close();
  });

  it('answers cached keys in the first frame and each later load in a frame of its own batch', async () => {
    await group.get('a');
    await group.get('c');
    loads.length = 0;
    const s = raw.stream();
    s.write({ group: 'g', keys: [b('a'), b('slow'), b('c'), b('fresh'), b('missing')], batch: 7 });
    const first = (await s.next())!;
    expect([first.batch, first.more, first.slots]).toEqual([7, true, [0, 2]]);
    expect(answers(first)).toEqual({ 0: 'FOUND:v:a', 2: 'FOUND:v:c' });
    // 'fresh' and 'missing' load at once; 'slow' waits for its origin. Loads that settle in the
    // same turn share a frame.
    const got: Record<number, string> = {};
    let frame: RawFrame;
    do {
      frame = (await s.next())!;
      expect(frame.batch).toBe(7);
      Object.assign(got, answers(frame));
    } while (Object.keys(got).length < 2);
    expect(got).toEqual({ 3: 'FOUND:v:fresh', 4: 'NOT_FOUND' });
    expect(frame.more).toBe(true);
    slow.open();
    const last = (await s.next())!;
    expect([last.batch, last.more, answers(last)]).toEqual([7, false, { 1: 'FOUND:v:slow' }]);
    // A batch whose keys are all cached is one frame without slots.
    s.write({ group: 'g', keys: [b('c'), b('a')], batch: 8 });
    const whole = (await s.next())!;
    expect([whole.batch, whole.more, whole.slots, answers(whole)]).toEqual([8, false, [], { 0: 'FOUND:v:c', 1: 'FOUND:v:a' }]);
    s.end();
    expect((await s.status).code).toBe(S.OK);
    expect(loads.sort()).toEqual(['fresh', 'missing', 'slow']);
    expect(cluster.stats().server.stream).toEqual({ calls: 2, keys: 7 });
  });

  it('a request-level problem answers every key of its batch with the error; the stream goes on', async () => {
    const s = raw.stream();
    s.write({ group: 'nosuch', keys: [b('a'), b('b')], batch: 1 });
    s.write({ group: 'g', keys: [b('a'), b('x'.repeat(17))], batch: 2 });
    s.write({ group: 'g', keys: [], batch: 3 });
    s.write({ group: 'g', keys: [b('ok')], batch: 4 });
    const frames = [(await s.next())!, (await s.next())!, (await s.next())!, (await s.next())!];
    expect(frames.map((f) => [f.batch, f.more, answers(f)])).toEqual([
      [1, false, { 0: `ERROR:${S.FAILED_PRECONDITION}:group`, 1: `ERROR:${S.FAILED_PRECONDITION}:group` }],
      [2, false, { 0: `ERROR:${S.INVALID_ARGUMENT}:invalid-argument`, 1: `ERROR:${S.INVALID_ARGUMENT}:invalid-argument` }],
      [3, false, {}],
      [4, false, { 0: 'FOUND:v:ok' }],
    ]);
    expect(loads).toEqual(['ok']); // the bad batches loaded nothing
    s.end();
    expect((await s.status).code).toBe(S.OK);
  });

  it('a batch far larger than any client sends, whose errors would not fit one message, ends the stream with the error', async () => {
    const small = new Cluster({ self: { id: 'small' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }), maxValueBytes: 1024 });
    await small.start();
    await small.addGroup('g', { maxBytes: 1 << 20, load: (key) => `v:${key}` });
    const r = new RawPeerClient(small.self.grpcAddress);
    try {
      const s = r.stream();
      s.write({ group: 'g', keys: Array.from({ length: 5000 }, (_, i) => b(`k${i}`)), batch: 1 });
      const st = await s.status;
      expect(st.code).toBe(S.INVALID_ARGUMENT);
      expect(st.details).toMatch(/5000 keys in one request, the limit is 4096/);
    } finally {
      r.close();
      await small.close();
    }
  });

  it('an undecodable frame ends the stream with INVALID_ARGUMENT; the server goes on serving', async () => {
    const s = raw.stream();
    s.write(Uint8Array.from([0xff, 0xff, 0xff]));
    const st = await s.status;
    expect(st.code).toBe(S.INVALID_ARGUMENT);
    expect(st.details).toMatch(/malformed arenacache.v1.GetManyRequest/);
    const again = raw.stream();
    again.write({ group: 'g', keys: [b('k')], batch: 1 });
    expect(answers((await again.next())!)).toEqual({ 0: 'FOUND:v:k' });
    again.end();
    expect(cluster.stats().server.errors.INVALID_ARGUMENT).toBe(1);
  });

  it('closing: a stream ends once the batches it took are answered; batches after that get UNAVAILABLE', async () => {
    const s = raw.stream();
    s.write({ group: 'g', keys: [b('slow')], batch: 1 });
    while (!loads.includes('slow')) await new Promise((r) => setImmediate(r));
    const closing = transport.close();
    s.write({ group: 'g', keys: [b('late')], batch: 2 });
    const refused = (await s.next())!;
    expect([refused.batch, answers(refused)]).toEqual([2, { 0: `ERROR:${S.UNAVAILABLE}:closed` }]);
    slow.open();
    const answered = (await s.next())!;
    expect([answered.batch, answers(answered)]).toEqual([1, { 0: 'FOUND:v:slow' }]);
    expect((await s.status).code).toBe(S.OK);
    await closing;
    expect(loads).not.toContain('late');
  });
});

describe('fetching through the stream', () => {
  let h: ClusterHarness | undefined;
  let peer: ScriptedPeer | undefined;
  afterEach(async () => {
    await h?.close();
    await peer?.close();
    h = peer = undefined;
  });

  it('one slow load holds up its own key only: the cached keys of its batch are answered at once', async () => {
    h = await ClusterHarness.start(2);
    const [n1, n2] = h.nodes as [TestNode, TestNode];
    const slow = gate();
    const groups = new Map<string, Group>();
    for (const n of h.nodes) {
      groups.set(n.id, await n.cluster.addGroup('g', { maxBytes: 1 << 20, load: async (key) => (key.startsWith('slow') ? (await slow.opened, `s:${key}`) : `v:${key}`) }));
    }
    const owned: string[] = [];
    for (let i = 0; owned.length < 4; i++) if (h.ownerOf(`k${i}`) === n2) owned.push(`k${i}`);
    let slowKey = '';
    for (let i = 0; !slowKey; i++) if (h.ownerOf(`slow${i}`) === n2) slowKey = `slow${i}`;
    for (const k of owned) await groups.get(n2.id)!.get(k); // cached on their owner
    const before = n2.cluster.stats().server.stream.calls;

    let slowDone = false;
    const slowGet = groups.get(n1.id)!.get(slowKey).then((v) => ((slowDone = true), v));
    const hot = await Promise.all(owned.map((k) => groups.get(n1.id)!.get(k)));
    expect(hot.map(text)).toEqual(owned.map((k) => `v:${k}`));
    expect(slowDone).toBe(false);
    expect(n2.cluster.stats().server.stream.calls - before).toBe(1); // they were one batch
    slow.open();
    expect(text(await slowGet)).toBe(`s:${slowKey}`);
  });

  it('a peer without GetStream (an older node) is fetched from with GetMany', async () => {
    peer = await ScriptedPeer.start({ stream: false });
    const client = new GrpcPeerClient({ id: 'old', grpcAddress: peer.address }, { maxMessageBytes: 1 << 20 });
    try {
      const got = client.fetch('g', 'k', 5000);
      expect(await peer.nextBatch(5000)).toBe(true);
      const batch = peer.pending[0]!;
      expect(batch.kind).toBe('unary');
      peer.answer(batch, [{ slot: 0, value: b('v:k') }]);
      expect(text(await got)).toBe('v:k');
      const again = client.fetch('g', 'k2', 5000); // straight to GetMany now
      expect(await peer.nextBatch(5000)).toBe(true);
      peer.answer(peer.pending[0]!, [{ slot: 0, value: b('v:k2') }]);
      expect(text(await again)).toBe('v:k2');
      expect(client.stats()).toMatchObject({ getMany: 2, streams: 1, fetchBatches: 2 });
    } finally {
      client.close();
    }
  });

  it('close() sends what is pending and the stream still delivers the answers', async () => {
    peer = await ScriptedPeer.start({ stream: true });
    const client = new GrpcPeerClient({ id: 'p', grpcAddress: peer.address }, { maxMessageBytes: 1 << 20 });
    const first = client.fetch('g', 'k0', 5000); // the stream is open and connected
    expect(await peer.nextBatch(5000)).toBe(true);
    peer.answer(peer.pending[0]!, [{ slot: 0, value: b('v:k0') }]);
    expect(text(await first)).toBe('v:k0');
    const got = client.fetch('g', 'k', 5000);
    client.close();
    expect(await peer.nextBatch(5000)).toBe(true);
    peer.answer(peer.pending[0]!, [{ slot: 0, value: b('v:k') }]);
    expect(text(await got)).toBe('v:k');
    await expect(client.fetch('g', 'k', 5000)).rejects.toThrow(/client closed/);
  });
});
