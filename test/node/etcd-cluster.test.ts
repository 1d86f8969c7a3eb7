/**
 * Issue 6 at the CLI level: nodes started by the real `arenacache serve` join through a real etcd.
 * Three agree on the ring; a fourth joins and every ring includes it; one stopped gracefully is
 * gone from the others' rings within 1 s; one SIGKILLed is gone within TTL + 1 s. Gets keep
 * succeeding throughout: routed to owners (source "peer"), then loaded locally while a dead
 * owner is still listed (source "fallback"). Rings are read with GET /v1/members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { allSee, httpServer, memberViews, NodeProc, requireBuild, startNode, stopAll, waitFor, within } from './helpers.js';

const TTL = 2;
let etcd: EtcdServer;
let origin: Awaited<ReturnType<typeof httpServer>>;
const nodes: NodeProc[] = [];

beforeAll(async () => {
  requireBuild();
  etcd = await startEtcd();
  origin = await httpServer((req, res) => res.end(`v:${decodeURIComponent((req.url ?? '').slice(1))}`));
});

afterAll(async () => {
  await stopAll(nodes);
  await origin?.close();
  await etcd?.destroy();
});

async function spawn(id: string): Promise<NodeProc> {
  const n = await startNode([
    '--id', id,
    '--etcd', etcd.endpoints.join(','),
    '--etcd-service', 'ring-test',
    '--etcd-lease-ttl', String(TTL),
    '--origin', `${origin.url}/{key}`,
    '--shutdown-timeout', '3s',
  ]);
  nodes.push(n);
  return n;
}


/** Gets of fresh keys against the nodes in `targets`, a few in flight at a time, until stopped. */
function getLoop(targets: Set<NodeProc>) {
  const sources = new Map<string, number>();
  const failures: string[] = [];
  const inFlight = new Map<NodeProc, number>();
  let done = 0;
  let stop = false;
  let i = 0;
  const worker = async () => {
    while (!stop) {
      const list = [...targets];
      const n = list[i % list.length]!;
      const key = `key-${i++}`;
      inFlight.set(n, (inFlight.get(n) ?? 0) + 1);
      try {
        const res = await n.fetch(`/v1/groups/default/keys/${key}`, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        if (res.status !== 200 || body !== `v:${key}`) failures.push(`${n.id} ${key}: ${res.status} ${body}`);
        const src = res.headers.get('x-arenacache-source') ?? 'none';
        sources.set(src, (sources.get(src) ?? 0) + 1);
      } catch (err) {
        failures.push(`${n.id} ${key}: ${(err as Error).message}`);
      } finally {
        inFlight.set(n, inFlight.get(n)! - 1);
      }
      done++;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const workers = [worker(), worker(), worker()];
  return {
    sources,
    failures,
    /** Gets in flight on `n` (a node about to be killed must have none: the test's own client would fail). */
    busy: (n: NodeProc) => (inFlight.get(n) ?? 0) > 0,
    get done() {
      return done;
    },
    snapshot: () => new Map(sources),
    async stop() {
      stop = true;
      await Promise.all(workers);
    },
  };
}

describe('a cluster of CLI nodes through etcd', () => {
  it('join, agree, grow; graceful leave within 1 s; crash within TTL + 1 s; gets succeed throughout', async () => {
    const [n1, n2, n3] = await Promise.all([spawn('n1'), spawn('n2'), spawn('n3')]);
    await waitFor('n1..n3 agree on the ring', allSee([n1, n2, n3], 'n1,n2,n3'), 5000, () => memberViews([n1, n2, n3]));
    for (const n of [n1, n2, n3]) {
      expect(((await (await n.fetch('/readyz')).json()) as { ready: boolean }).ready).toBe(true);
    }

    const targets = new Set([n1, n2, n3]);
    const loop = getLoop(targets);
    try {
      const n4 = await spawn('n4');
      targets.add(n4);
      await waitFor('every ring includes n4', allSee([n1, n2, n3, n4], 'n1,n2,n3,n4'), 5000, () => memberViews([n1, n2, n3, n4]));
      // With four owners, most fresh keys are fetched from their owner.
      await waitFor('gets routed to owners', () => (loop.sources.get('peer') ?? 0) >= 10, 10_000, () => [...loop.sources]);

      // Graceful stop: the lease is revoked first, so the others drop n3 at once.
      targets.delete(n3);
      n3.signal('SIGTERM');
      await waitFor('n3 gone from n1, n2, n4 within 1 s', allSee([n1, n2, n4], 'n1,n2,n4'), 1000, () => memberViews([n1, n2, n4]));
      expect(await within('n3 exits after its drain', n3.exited, 5000)).toEqual({ code: 0, signal: null });

      // Crash: nobody revokes; the lease expires after the TTL. Until then n2 is still listed as an
      // owner, and the others load its keys themselves.
      const beforeKill = loop.snapshot();
      targets.delete(n2);
      await waitFor('no test get in flight on n2', () => !loop.busy(n2), 5000);
      n2.signal('SIGKILL');
      expect(await within('n2 is killed', n2.exited, 5000)).toMatchObject({ signal: 'SIGKILL' });
      // Dead but its lease lives on: n1 still lists it (it leaves when the lease expires, not before).
      expect(await allSee([n1], 'n1,n2,n4')()).toBe(true);
      const bound = TTL * 1000 + 1000;
      await waitFor(`n2 gone from n1 and n4 within TTL + 1 s (${bound} ms)`, allSee([n1, n4], 'n1,n4'), bound, () => memberViews([n1, n4]));
      const fallbacks = (loop.sources.get('fallback') ?? 0) - (beforeKill.get('fallback') ?? 0);
      expect(fallbacks).toBeGreaterThan(0);

      // Two nodes left: keys keep being served.
      const doneAfterKill = loop.done;
      await waitFor('more gets on the two survivors', () => loop.done >= doneAfterKill + 20, 10_000);
    } finally {
      await loop.stop();
    }
    expect(loop.failures).toEqual([]);
    expect(loop.done).toBeGreaterThan(50);
  });
});
