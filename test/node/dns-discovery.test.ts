/**
 * `--peers-dns`: nodes (real CLI processes) find each other through a real DNS server (dnsmasq on
 * a loopback port) — as behind a Kubernetes headless Service. Each node listens on its own loopback
 * address (127.0.0.2, .3, .4) with the same gRPC port, as pods do. A record added joins the ring, a
 * record removed leaves it, and a DNS server that goes away leaves the last membership in place.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../helpers/dnsmasq.js';
import { NodeProc, requireBuild, startNode, stopAll, waitFor } from './helpers.js';

const NAME = 'arenacache.default.svc.test';
const nodes: NodeProc[] = [];
let dns: DnsServer | undefined;

/** A TCP port free on each of the given loopback addresses. */
async function portFreeOn(hosts: string[]): Promise<number> {
  for (;;) {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, hosts[0], r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ok = await Promise.all(
      hosts.slice(1).map(
        (h) =>
          new Promise<boolean>((r) => {
            const s = createServer();
            s.once('error', () => r(false));
            s.listen(port, h, () => s.close(() => r(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
}

async function members(n: NodeProc): Promise<string> {
  const m = (await (await n.fetch('/v1/members')).json()) as { mode: string; members: { id: string }[] };
  expect(m.mode).toBe('dns');
  return m.members.map((x) => x.id).join(',');
}

const allSee = (ns: NodeProc[], want: string) => async () => (await Promise.all(ns.map(members))).every((r) => r === want);

beforeAll(() => requireBuild());
afterAll(async () => {
  await stopAll(nodes);
  await dns?.destroy();
});

describe('DNS discovery (--peers-dns)', () => {
  it('builds the ring from A records; follows a record added and removed; keeps the last membership when DNS goes away', async () => {
    const [a, b, c] = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const port = await portFreeOn([a, b, c]);
    const id = (ip: string) => `${ip}:${port}`;
    dns = await DnsServer.start({ [NAME]: [a, b] });
    const start = async (ip: string) => {
      const n = await startNode([
        '--grpc-host', ip, '--grpc-port', String(port),
        '--peers-dns', `${NAME}:${port}`, '--peers-dns-server', dns!.address, '--peers-dns-interval', '200ms',
      ]);
      nodes.push(n);
      return n;
    };
    const [na, nb] = [await start(a), await start(b)];
    expect(na.id).toBe(id(a));
    await waitFor('a and b see a,b', allSee([na, nb], [id(a), id(b)].join(',')), 10_000, () => Promise.all([na, nb].map(members)));

    // A write through b for a key a owns is stored on a, and read back through b from its owner.
    let key = '';
    for (let i = 0; i < 200 && !key; i++) {
      const res = await nb.fetch(`/v1/groups/default/keys/k${i}`, { method: 'PUT', body: `v${i}` });
      expect(res.status).toBe(204);
      const onA = await na.fetch(`/v1/groups/default/keys/k${i}`);
      if (onA.headers.get('x-arenacache-source') === 'main') key = `k${i}`;
      await onA.arrayBuffer();
    }
    expect(key).not.toBe('');

    // Record added: c starts and is listed; everyone's ring has three members.
    const nc = await start(c);
    await dns.setRecords({ [NAME]: [a, b, c] });
    await waitFor('a, b, c see a,b,c', allSee([na, nb, nc], [id(a), id(b), id(c)].join(',')), 10_000, () => Promise.all([na, nb, nc].map(members)));
    expect(na.logs.some((l) => l.msg === 'membership changed' && (l.added as string[] | undefined)?.includes(id(c)))).toBe(true);

    // Record removed: b is still running but no longer listed; a and c drop it (b keeps itself).
    await dns.setRecords({ [NAME]: [a, c] });
    await waitFor('a and c see a,c', allSee([na, nc], [id(a), id(c)].join(',')), 10_000, () => Promise.all([na, nc].map(members)));

    // The DNS server goes away: lookups fail, the last membership stays.
    await dns.stop();
    for (const n of [na, nc]) {
      await waitFor('the failed lookup is logged', () => n.logs.some((l) => l.msg === 'dns lookup failed; keeping the last membership'), 10_000, () => n.tail());
      expect(await members(n)).toBe([id(a), id(c)].join(','));
    }
    const failures = () => na.logs.filter((l) => l.msg === 'dns lookup failed; keeping the last membership').length;
    // Still failing a few lookups later (interval 200 ms): still one warning, still the same ring.
    const before = ((await (await na.fetch('/v1/stats')).json()) as { membership: { dns: { failures: number } } }).membership.dns.failures;
    await waitFor('three more failed lookups', async () => {
      const s = (await (await na.fetch('/v1/stats')).json()) as { membership: { dns: { failures: number } } };
      return s.membership.dns.failures >= before + 3;
    }, 10_000);
    expect(failures()).toBe(1);
    expect(await members(na)).toBe([id(a), id(c)].join(','));
    const v = await na.fetch(`/v1/groups/default/keys/${key}`);
    expect([v.status, await v.text()]).toEqual([200, `v${key.slice(1)}`]);
  });

  it('refuses settings that cannot work with DNS membership', async () => {
    const { runCli } = await import('./helpers.js');
    const cases: Array<[string[], string]> = [
      [['--peers-dns', NAME, '--etcd', 'http://127.0.0.1:1'], 'two membership sources'],
      [['--peers-dns', NAME, '--peers', 'a=127.0.0.1:1'], 'two membership sources'],
      [['--peers-dns', NAME, '--id', 'x'], '--id cannot be set with --peers-dns'],
      [['--peers-dns', NAME, '--grpc-port', '0'], 'needs'],
      [['--peers-dns', 'bad name!'], 'is not a DNS name'],
      [['--peers-dns-server', '127.0.0.1:53'], '--peers-dns is not'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['serve', '--print-config', ...args]);
      expect([r.code, r.stderr.includes(message)], `${args.join(' ')}: ${r.stderr}`).toEqual([2, true]);
    }
    const ok = JSON.parse((await runCli(['serve', '--print-config', '--peers-dns', `${NAME}:7171`])).stdout.toString());
    expect(ok.dns).toEqual({ name: NAME, port: 7171, intervalMs: 5000, servers: [] });
  });
});
