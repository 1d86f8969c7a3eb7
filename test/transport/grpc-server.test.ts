/**
 * The gRPC surface seen by an arbitrary client: status codes for every kind of bad input (and that
 * bad input changes nothing), error trailers, health checking, message size limits.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, NOT_FOUND, type Group } from '../../src/cluster/index.js';
import { ClusterHarness, type TestNode } from '../helpers/cluster-harness.js';
import { RawPeerClient } from '../helpers/grpc-raw.js';
import { grpcTransport } from '../../src/transport/index.js';

const S = grpc.status;
const b = (s: string) => Buffer.from(s, 'utf8');

describe('Peer service input validation', () => {
  let cluster: Cluster;
  let group: Group;
  let raw: RawPeerClient;
  let loads: string[];

  beforeEach(async () => {
    loads = [];
    cluster = new Cluster({ self: { id: 'n1' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }) });
    await cluster.start();
    group = await cluster.addGroup('g', {
      maxBytes: 1 << 20,
      maxKeyBytes: 16,
      maxValueBytes: 64,
      loadTimeout: 150,
      load: async (key) => {
        loads.push(key);
        if (key === 'missing') return NOT_FOUND;
        if (key === 'boom') throw new Error('loader exploded');
        if (key === 'hang') return new Promise<never>(() => {});
        if (key === 'slow') await new Promise((r) => setTimeout(r, 100));
        return `v:${key}`;
      },
    });
    raw = new RawPeerClient(cluster.self.grpcAddress);
  });

  afterEach(async () => {
    raw.close();
    await cluster.close();
  });

  it('answers Get with the value, NOT_FOUND for a missing key', async () => {
    const ok = await raw.call<{ value: Buffer }>('Get', { group: 'g', key: b('a') });
    expect(ok.code).toBe(S.OK);
    expect(ok.response!.value.toString()).toBe('v:a');
    const nf = await raw.call('Get', { group: 'g', key: b('missing') });
    expect(nf.code).toBe(S.NOT_FOUND);
    expect(nf.kind).toBeUndefined();
  });

  it('INVALID_ARGUMENT for empty, oversized and non-UTF-8 keys, bad group names; nothing loaded', async () => {
    const cases: Array<[string, object]> = [
      ['empty key', { group: 'g', key: b('') }],
      ['absent key', { group: 'g' }],
      ['oversized key', { group: 'g', key: b('x'.repeat(17)) }],
      ['non-UTF-8 key', { group: 'g', key: Buffer.from([0xff, 0xfe, 0x41]) }],
      ['empty group', { group: '', key: b('a') }],
      ['bad group chars', { group: 'g/../x', key: b('a') }],
      ['long group', { group: 'g'.repeat(65), key: b('a') }],
    ];
    for (const [what, req] of cases) {
      const r = await raw.call('Get', req);
      expect(r.code, what).toBe(S.INVALID_ARGUMENT);
      expect(r.kind, what).toBe('invalid-argument');
    }
    expect(loads).toEqual([]);
  });

  it('FAILED_PRECONDITION (kind "group") for a well-formed but unknown group', async () => {
    const r = await raw.call('Get', { group: 'nosuch', key: b('a') });
    expect(r.code).toBe(S.FAILED_PRECONDITION);
    expect(r.kind).toBe('group');
    const m = await raw.call('GetMany', { group: 'nosuch', keys: [b('a')] });
    expect(m.code).toBe(S.FAILED_PRECONDITION);
    const s = await raw.call('Set', { group: 'nosuch', key: b('a'), value: b('v') });
    expect(s.code).toBe(S.FAILED_PRECONDITION);
    expect(loads).toEqual([]);
  });

  it('INVALID_ARGUMENT for undecodable request bytes on every method', async () => {
    for (const method of ['Get', 'GetMany', 'Set', 'Remove', 'Invalidate', 'Flush'] as const) {
      const r = await raw.callBytes(method, Uint8Array.from([0xff, 0xff, 0xff]));
      expect(r.code, method).toBe(S.INVALID_ARGUMENT);
      expect(r.details, method).toMatch(/malformed/);
    }
    expect(loads).toEqual([]);
  });

  it('Flush drops the group and answers how many entries it held; bad or unknown groups change nothing', async () => {
    await group.get('a');
    await group.get('b');
    expect((await raw.call('Flush', { group: '' })).code).toBe(S.INVALID_ARGUMENT);
    expect((await raw.call('Flush', { group: 'g/x' })).code).toBe(S.INVALID_ARGUMENT);
    const unknown = await raw.call('Flush', { group: 'nosuch' });
    expect([unknown.code, unknown.kind]).toEqual([S.FAILED_PRECONDITION, 'group']);
    expect(group.stats().main.entries).toBe(2);
    const ok = await raw.call<{ dropped: number }>('Flush', { group: 'g' });
    expect([ok.code, ok.response!.dropped]).toEqual([S.OK, 2]);
    expect(group.stats().main.entries).toBe(0);
    expect(cluster.stats().server.flush).toEqual({ calls: 4, keys: 0 });
  });

  it('GetMany: a single bad key fails the whole request before anything is loaded', async () => {
    expect((await raw.call('GetMany', { group: 'g', keys: [] })).code).toBe(S.INVALID_ARGUMENT);
    const r = await raw.call('GetMany', { group: 'g', keys: [b('a'), b(''), b('c')] });
    expect(r.code).toBe(S.INVALID_ARGUMENT);
    const many = await raw.call('GetMany', { group: 'g', keys: Array.from({ length: 4097 }, () => b('a')) });
    expect(many.code).toBe(S.INVALID_ARGUMENT);
    expect(loads).toEqual([]);
  });

  it('GetMany reports per-key outcomes: found, not found, loader error', async () => {
    const r = await raw.call<{ items: Array<{ status: string; value: Buffer; code: number; kind: string }> }>(
      'GetMany',
      { group: 'g', keys: [b('a'), b('missing'), b('boom')] },
    );
    expect(r.code).toBe(S.OK);
    const [a, m, e] = r.response!.items;
    expect(a!.status).toBe('FOUND');
    expect(a!.value.toString()).toBe('v:a');
    expect(m!.status).toBe('NOT_FOUND');
    expect(e!.status).toBe('ERROR');
    expect(e!.code).toBe(S.UNKNOWN);
    expect(e!.kind).toBe('loader');
  });

  it('Set: bad ttl, oversized value or bad key → INVALID_ARGUMENT and nothing stored', async () => {
    const bad: Array<[string, object]> = [
      ['negative ttl', { group: 'g', key: b('s'), value: b('v'), ttlMs: -1 }],
      ['oversized value', { group: 'g', key: b('s'), value: Buffer.alloc(65) }],
      ['empty key', { group: 'g', key: b(''), value: b('v') }],
      ['oversized key', { group: 'g', key: b('s'.repeat(17)), value: b('v') }],
    ];
    for (const [what, req] of bad) {
      const r = await raw.call('Set', req);
      expect(r.code, what).toBe(S.INVALID_ARGUMENT);
    }
    expect(group.stats().main.entries).toBe(0);
    expect(group.stats().sets).toBe(0);
    const ok = await raw.call('Set', { group: 'g', key: b('s'), value: Buffer.alloc(64, 1), ttlMs: 0 });
    expect(ok.code).toBe(S.OK);
    expect(await group.get('s')).toEqual(new Uint8Array(64).fill(1));
    expect(loads).toEqual([]);
  });

  it('Remove / Invalidate with one bad key change nothing', async () => {
    await group.set('keep1', 'x');
    await group.set('keep2', 'y');
    for (const method of ['Remove', 'Invalidate'] as const) {
      const r = await raw.call(method, { group: 'g', keys: [b('keep1'), b('k'.repeat(17)), b('keep2')] });
      expect(r.code, method).toBe(S.INVALID_ARGUMENT);
    }
    expect(group.stats().main.entries).toBe(2);
    const ok = await raw.call<{ removed: number }>('Remove', { group: 'g', keys: [b('keep1'), b('nope')] });
    expect(ok.response!.removed).toBe(1);
    expect(group.stats().main.entries).toBe(1);
  });

  it('maps loader failure to UNKNOWN (kind loader) and loader deadline to DEADLINE_EXCEEDED (kind load-timeout)', async () => {
    const e = await raw.call('Get', { group: 'g', key: b('boom') });
    expect(e.code).toBe(S.UNKNOWN);
    expect(e.kind).toBe('loader');
    expect(e.details).toContain('loader exploded');
    const t = await raw.call('Get', { group: 'g', key: b('hang') });
    expect(t.code).toBe(S.DEADLINE_EXCEEDED);
    expect(t.kind).toBe('load-timeout');
  });

  it("the caller's own deadline is DEADLINE_EXCEEDED without a trailer", async () => {
    const r = await raw.call('Get', { group: 'g', key: b('slow') }, 20);
    expect(r.code).toBe(S.DEADLINE_EXCEEDED);
    expect(r.kind).toBeUndefined();
  });

  it('health: SERVING while up, for the server and the Peer service; unknown service is NOT_FOUND', async () => {
    const all = await raw.health('');
    expect(all.response?.status).toBe('SERVING');
    expect((await raw.health('arenacache.v1.Peer')).response?.status).toBe('SERVING');
    expect((await raw.health('nope')).code).toBe(S.NOT_FOUND);
  });

  it('UNAVAILABLE once the node is closed', async () => {
    await cluster.close();
    const r = await raw.call('Get', { group: 'g', key: b('a') }, 2000);
    expect(r.code).toBe(S.UNAVAILABLE);
  });
});

describe('health before start', () => {
  it('is NOT_SERVING between listen() and start()', async () => {
    const c = new Cluster({ self: { id: 'n' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }) });
    const raw = new RawPeerClient((await c.listen()).grpcAddress);
    try {
      expect((await raw.health('')).response?.status).toBe('NOT_SERVING');
      await c.start();
      expect((await raw.health('')).response?.status).toBe('SERVING');
    } finally {
      raw.close();
      await c.close();
    }
  });
});

describe('message size limits', () => {
  let h: ClusterHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('values that do not fit one GetMany response are fetched one by one; the group caps values', async () => {
    h = await ClusterHarness.start(2, { maxValueBytes: 64 << 10 });
    const [n1, n2] = h.nodes as [TestNode, TestNode];
    const size = 60 << 10;
    const groups = new Map<string, Group>();
    for (const n of h.nodes) {
      groups.set(
        n.id,
        await n.cluster.addGroup('big', {
          maxBytes: 4 << 20,
          load: (key) => new Uint8Array(size).fill(key.charCodeAt(key.length - 1)),
        }),
      );
    }
    expect(groups.get(n1.id)!.maxValueBytes).toBe(64 << 10);
    await expect(groups.get(n1.id)!.set('x', new Uint8Array((64 << 10) + 1))).rejects.toThrow(/limit/);
    const keys: string[] = [];
    for (let i = 0; keys.length < 6; i++) if (h.ownerOf(`big-${i}`) === n2) keys.push(`big-${i}`);
    const vals = await Promise.all(keys.map((k) => groups.get(n1.id)!.get(k)));
    vals.forEach((v, i) => {
      expect(v).toHaveLength(size);
      expect(v![0]).toBe(keys[i]!.charCodeAt(keys[i]!.length - 1));
    });
    const st = n2.cluster.stats().server;
    expect(st.stream.calls).toBe(1); // one batch of 6 on the fetch stream
    expect(st.get.calls).toBeGreaterThanOrEqual(4); // ~2 values fit a 128 KiB response; the rest one by one
  });
});
