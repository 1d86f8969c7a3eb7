/**
 * Graceful shutdown of the real CLI: SIGTERM turns readyz 503, finishes in-flight requests within
 * the bound and exits 0; past the bound it still exits; a second signal exits at once; with etcd
 * the node deregisters (its lease is revoked, long before the TTL could expire it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { httpServer, metric, NodeProc, requireBuild, scrape, startNode, stopAll, waitFor, within } from './helpers.js';

const nodes: NodeProc[] = [];
let origin: Awaited<ReturnType<typeof httpServer>>;
const requested = new Set<string>();

beforeAll(async () => {
  requireBuild();
  origin = await httpServer((req, res) => {
    const key = (req.url ?? '').slice(1);
    requested.add(key);
    // "slow-N" answers after N ms; "hang-…" never answers.
    const m = /^slow-(\d+)$/.exec(key);
    if (key.startsWith('hang')) return;
    const t = setTimeout(() => res.end(`value:${key}`), m ? Number(m[1]) : 0);
    res.once('close', () => clearTimeout(t));
  });
});

afterAll(async () => {
  await stopAll(nodes);
  await origin?.close();
});

async function start(args: string[]): Promise<NodeProc> {
  const n = await startNode(['--origin', `${origin.url}/{key}`, ...args]);
  nodes.push(n);
  return n;
}

describe('graceful shutdown', () => {
  it('SIGTERM: readyz 503 while draining, in-flight requests finish, exit 0 within the bound', async () => {
    const n = await start(['--load-timeout', '10s', '--shutdown-timeout', '5s', '--drain-delay', '2s']);
    expect((await n.fetch('/readyz')).status).toBe(200);
    const inFlight = n.fetch('/v1/groups/default/keys/slow-1500');
    await waitFor('the origin got the in-flight request', () => requested.has('slow-1500'), 5000);

    n.signal('SIGTERM');
    // During the drain delay the listener still accepts: readyz says 503, liveness stays 200.
    await waitFor('readyz 503', async () => (await n.fetch('/readyz')).status === 503, 1500);
    const ready = (await (await n.fetch('/readyz')).json()) as { ready: boolean; state: string };
    expect(ready).toMatchObject({ ready: false, state: 'draining' });
    expect((await n.fetch('/healthz')).status).toBe(200);

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('value:slow-1500');
    const exit = await within('exit within the 5 s bound (+2 s)', n.exited, 5000 + 2000);
    expect(exit).toEqual({ code: 0, signal: null });
    const msgs = n.logs.map((l) => l.msg);
    expect(msgs.slice(msgs.indexOf('ready'))).toEqual(['ready', 'signal received: shutting down', 'draining', 'stopped']);
    expect(n.logs.some((l) => l.msg === 'shutdown bound reached; closing connections with requests in flight')).toBe(false);
    // Nothing listens any more.
    await expect(n.fetch('/healthz')).rejects.toThrow();
  });

  it('a request that outlives the bound does not hold the exit: exit 0 soon after the bound', async () => {
    const n = await start(['--load-timeout', '30s', '--shutdown-timeout', '1s']);
    const hung = n.fetch('/v1/groups/default/keys/hang-bound').then(
      (r) => r.status,
      () => 'connection closed',
    );
    await waitFor('the origin got the request', () => requested.has('hang-bound'), 5000);
    n.signal('SIGTERM');
    const exit = await within('exit soon after the 1 s bound', n.exited, 1000 + 3000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(n.logs.some((l) => l.msg === 'shutdown bound reached; closing connections with requests in flight')).toBe(true);
    expect(await hung).toBe('connection closed');
  });

  it('an upload cut short is logged at info as what it is (not an internal error) and stores nothing', async () => {
    const net = await import('node:net');
    const n = await start([]);
    const [host, port] = n.url.replace('http://', '').split(':') as [string, string];
    const socket = net.connect(Number(port), host);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('PUT /v1/groups/default/keys/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789');
    await waitFor('the node got the first bytes', async () => {
      const m = await scrape(n);
      return (metric(m, 'arenacache_http_requests_in_flight') ?? 0) >= 1;
    }, 5000);
    socket.destroy();
    await waitFor('the aborted upload is logged', () => n.logs.some((l) => l.msg === 'upload aborted by the client'), 5000, () => n.tail());
    const line = n.logs.find((l) => l.msg === 'upload aborted by the client')!;
    expect(line).toMatchObject({ level: 'info', received: 10, declared: 100000 });
    expect(n.logs.filter((l) => l.level === 'error' || l.msg === 'internal error')).toEqual([]);
    expect(await (await n.fetch('/v1/groups/default/keys/cut')).text()).toBe('value:cut'); // the origin's, not the 10 bytes
  });

  it('a second signal exits at once', async () => {
    const n = await start(['--load-timeout', '30s', '--shutdown-timeout', '20s']);
    void n.fetch('/v1/groups/default/keys/hang-second').catch(() => {});
    await waitFor('the origin got the request', () => requested.has('hang-second'), 5000);
    n.signal('SIGTERM');
    await waitFor('draining', () => n.logs.some((l) => l.msg === 'draining'), 5000);
    n.signal('SIGINT');
    const exit = await within('exit at once on the second signal (20 s bound not waited for)', n.exited, 3000);
    expect(exit.code).toBe(1);
    expect(n.logs.some((l) => l.msg === 'second signal: exiting now')).toBe(true);
    expect(n.logs.some((l) => l.msg === 'stopped')).toBe(false);
  });
});

describe('shutdown log lines', () => {
  it('come in order, every time: signal received, draining, stopped (5 runs)', async () => {
    for (let run = 0; run < 5; run++) {
      const n = await start(['--shutdown-timeout', '2s']);
      n.signal('SIGTERM');
      expect(await within('exit', n.exited, 10_000)).toEqual({ code: 0, signal: null });
      const msgs = n.logs.map((l) => l.msg);
      expect(msgs.slice(msgs.indexOf('ready')), `run ${run}`).toEqual(['ready', 'signal received: shutting down', 'draining', 'stopped']);
    }
  });
});

describe('with etcd', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('SIGTERM at any moment of the start stops gracefully: exit 0, nothing left registered', async () => {
    const dir = '/arenacache/early-stop/';
    // Each moment is an event the node reports; the signal is sent as soon as it is seen.
    const moments = ['starting', 'http listening', 'etcd membership starting', 'registered in etcd', 'ready'];
    for (const moment of moments) {
      const n = new NodeProc([
        '--origin', `${origin.url}/{key}`, '--grpc-port', '0', '--http-port', '0',
        '--etcd', etcd.endpoints.join(','), '--etcd-service', 'early-stop', '--etcd-lease-ttl', '60', '--id', 'early',
      ]);
      nodes.push(n);
      await waitFor(`log line "${moment}"`, () => n.exit !== undefined || n.logs.some((l) => l.msg === moment), 20_000, () => n.tail());
      n.signal('SIGTERM');
      const exit = await n.exited;
      expect([moment, exit, n.stderr]).toEqual([moment, { code: 0, signal: null }, '']);
      // With a 60 s TTL, a record still there would be a registration left behind.
      expect([moment, etcd.etcdctl('get', '--prefix', '--keys-only', dir).trim()]).toEqual([moment, '']);
      expect(n.logs.some((l) => l.level === 'fatal' || l.level === 'error')).toBe(false);
    }
  });

  it('SIGTERM deregisters from etcd (lease revoked, not expired) and exits 0', async () => {
    const dir = '/arenacache/shutdown-test/';
    const n = await start(['--etcd', etcd.endpoints.join(','), '--etcd-service', 'shutdown-test', '--etcd-lease-ttl', '60', '--id', 'leaver']);
    expect(etcd.etcdctl('get', '--prefix', '--keys-only', dir).trim()).toBe(`${dir}leaver`);
    const record = JSON.parse(etcd.etcdctl('get', '--print-value-only', `${dir}leaver`)) as { grpcAddress: string; httpAddress: string };
    expect(record.grpcAddress).toBe(n.grpcAddress);
    expect(`http://${record.httpAddress}`).toBe(n.url);
    const m = await scrape(n);
    expect(metric(m, 'arenacache_etcd_lease_state', { state: 'granted' })).toBe(1);
    expect(metric(m, 'arenacache_etcd_reachable')).toBe(1);
    expect(((await (await n.fetch('/v1/members')).json()) as { mode: string }).mode).toBe('etcd');

    n.signal('SIGTERM');
    const exit = await within('exit after deregistering', n.exited, 10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    // With a 60 s TTL only a revoke can have removed the record this soon.
    expect(etcd.etcdctl('get', '--prefix', '--keys-only', dir).trim()).toBe('');
    expect(n.logs.some((l) => l.msg === 'lease revoked')).toBe(true);
  });
});
