/**
 * Issue 13 §1 with real processes: etcd + CLI nodes. Writes survive membership changes — after a
 * change settles every node answers the last acknowledged write (or a fresh origin load when the
 * node that held the write is gone), never an older value and never a deleted one:
 *
 * - paused owner: PUT v0; SIGSTOP the owner; once the others list two members, PUT v1 / DELETE
 *   through them; SIGCONT → every node answers v1 / the origin (the owner had v0);
 * - join: PUT; a fourth node joins and owns some keys → every node answers the PUT
 *   value (the new owner takes it over from the previous one);
 * - leave after join: PUT while the fourth node owns the keys; it leaves → every node answers the
 *   origin (the write went with it), not the value the previous owner held before the join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ring, ringHash } from '../../src/cluster/index.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { allSee, httpServer, memberViews, NodeProc, requireBuild, startNode, stopAll, waitFor } from './helpers.js';

const TTL = 2;
let etcd: EtcdServer;
let origin: Awaited<ReturnType<typeof httpServer>>;
const nodes: NodeProc[] = [];

beforeAll(async () => {
  requireBuild();
  etcd = await startEtcd();
  origin = await httpServer((req, res) => res.end(`origin:${decodeURIComponent((req.url ?? '').slice(1))}`));
});

afterAll(async () => {
  for (const n of nodes) n.signal('SIGCONT');
  await stopAll(nodes);
  await origin?.close();
  await etcd?.destroy();
});

async function spawn(id: string): Promise<NodeProc> {
  const n = await startNode([
    '--id', id,
    '--etcd', etcd.endpoints.join(','),
    '--etcd-service', 'writes-test',
    '--etcd-lease-ttl', String(TTL),
    '--origin', `${origin.url}/{key}`,
    '--shutdown-timeout', '3s',
  ]);
  nodes.push(n);
  return n;
}


/** The owner of `key` on a ring of these node ids (every node builds the same ring). */
function ownerOf(ids: string[], key: string): string {
  return new Ring(ids.map((id) => ({ id, grpcAddress: '' }))).ownerOfHash(ringHash(key))!.id;
}

async function get(n: NodeProc, key: string): Promise<string> {
  const r = await n.fetch(`/v1/groups/default/keys/${key}`, { signal: AbortSignal.timeout(10_000) });
  const body = await r.text();
  return r.status === 200 ? body : `${r.status} ${body}`;
}

async function put(n: NodeProc, key: string, value: string): Promise<number> {
  return (await n.fetch(`/v1/groups/default/keys/${key}`, { method: 'PUT', body: value, signal: AbortSignal.timeout(10_000) })).status;
}

/** Every node's answer for every key, as "node key=value" lines that differ from `want`. */
async function mismatches(ns: NodeProc[], keys: string[], want: (key: string) => string): Promise<string[]> {
  const out: string[] = [];
  for (const n of ns) {
    for (const k of keys) {
      const got = await get(n, k);
      if (got !== want(k)) out.push(`${n.id} ${k}=${got} (want ${want(k)})`);
    }
  }
  return out;
}

// expect.soft: each phase reports its own mismatches even when an earlier phase failed.
describe('writes survive membership changes (CLI nodes, etcd)', () => {
  it('paused owner, join, leave after join: every node answers the last write or the origin, never older', async () => {
    const [n1, n2, n3] = await Promise.all([spawn('n1'), spawn('n2'), spawn('n3')]);
    const three = [n1, n2, n3];
    await waitFor('n1..n3 agree', allSee(three, 'n1,n2,n3'), 10_000, () => memberViews(three));

    // ---- paused owner ---------------------------------------------------------------------------
    const owned = Array.from({ length: 400 }, (_, i) => `p${i}`).filter((k) => ownerOf(['n1', 'n2', 'n3'], k) === 'n3').slice(0, 30);
    expect(owned.length).toBe(30);
    for (const k of owned) expect(await put(n1, k, `v0-${k}`)).toBe(204);
    // Reads through the other nodes: fetched from n3, and kept as hot copies (hotAfter = 2).
    for (let round = 0; round < 2; round++) for (const n of [n1, n2]) for (const k of owned) expect(await get(n, k)).toBe(`v0-${k}`);

    n3.signal('SIGSTOP');
    await waitFor('n1 and n2 drop the paused n3', allSee([n1, n2], 'n1,n2'), TTL * 1000 + 8000, () => memberViews([n1, n2]));
    const written = owned.slice(0, 15);
    const deleted = owned.slice(15);
    for (const k of written) expect(await put(n1, k, `v1-${k}`)).toBe(204);
    for (const k of deleted) expect([204, 404]).toContain((await n2.fetch(`/v1/groups/default/keys/${k}`, { method: 'DELETE' })).status);
    n3.signal('SIGCONT');
    await waitFor('n3 is back in every ring', allSee(three, 'n1,n2,n3'), TTL * 1000 + 10_000, () => memberViews(three));
    expect.soft(await mismatches(three, written, (k) => `v1-${k}`)).toEqual([]);
    expect.soft(await mismatches(three, deleted, (k) => `origin:${k}`)).toEqual([]);

    // ---- join -----------------------------------------------------------------------------------
    const joinKeys = Array.from({ length: 60 }, (_, i) => `j${i}`);
    for (const k of joinKeys) expect(await put(n2, k, `w-${k}`)).toBe(204);
    const n4 = await spawn('n4');
    const four = [n1, n2, n3, n4];
    await waitFor('every ring includes n4', allSee(four, 'n1,n2,n3,n4'), 10_000, () => memberViews(four));
    const moved = joinKeys.filter((k) => ownerOf(['n1', 'n2', 'n3', 'n4'], k) === 'n4');
    expect(moved.length).toBeGreaterThan(5);
    expect.soft(await mismatches(four, joinKeys, (k) => `w-${k}`)).toEqual([]);

    // ---- leave after join -----------------------------------------------------------------------
    for (const k of moved) expect(await put(n1, k, `x-${k}`)).toBe(204);
    expect(await n4.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor('n4 gone from every ring', allSee(three, 'n1,n2,n3'), 10_000, () => memberViews(three));
    // The writes went with n4: a fresh load from the origin, not the value held before the join.
    expect.soft(await mismatches(three, moved, (k) => `origin:${k}`)).toEqual([]);
    // Keys that never moved keep their value.
    const stayed = joinKeys.filter((k) => !moved.includes(k));
    expect.soft(await mismatches(three, stayed, (k) => `w-${k}`)).toEqual([]);
  });
});
