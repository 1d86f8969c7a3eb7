/**
 * Issue 13 §3 with real CLI nodes: peers authenticate with a shared cluster secret
 * (--cluster-secret-file); calls without it get UNAUTHENTICATED and change nothing; a non-loopback
 * gRPC listener needs peer authentication or --insecure-peers; HTTP reads can require a read
 * token; /v1/stats shows no etcd endpoints or origin URLs to callers without a token.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ring, ringHash } from '../../src/cluster/index.js';
import { SECRET_METADATA_KEY } from '../../src/transport/index.js';
import { freePort, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { RawPeerClient } from '../helpers/grpc-raw.js';
import { httpServer, NodeProc, requireBuild, runCli, startNode, stopAll, tempDir } from './helpers.js';

const nodes: NodeProc[] = [];
const tmp = tempDir('arenacache-security-');
const SECRET = 'a-cluster-secret-of-some-length\n';
let secretFile: string;

beforeAll(() => {
  requireBuild();
  secretFile = tmp.write('secret', SECRET);
});

afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

const keyUrl = (k: string) => `/v1/groups/default/keys/${k}`;
const withSecret = (secret: string | Buffer) => {
  const md = new grpc.Metadata();
  md.set(SECRET_METADATA_KEY, Buffer.from(secret));
  return md;
};

describe('peer authentication with a cluster secret', () => {
  it('peers with the secret serve each other; calls without it (or with a wrong one) are UNAUTHENTICATED and change nothing', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const common = ['--peers', `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`, '--cluster-secret-file', secretFile];
    const [a, b] = await Promise.all([
      startNode(['--id', 'a', '--grpc-port', String(pa), ...common]),
      startNode(['--id', 'b', '--grpc-port', String(pb), ...common]),
    ]);
    nodes.push(a, b);
    const ring = new Ring([{ id: 'a', grpcAddress: '' }, { id: 'b', grpcAddress: '' }]);
    let key = '';
    for (let i = 0; !key; i++) if (ring.ownerOfHash(ringHash(`s${i}`))!.id === 'b') key = `s${i}`;

    // Through a, stored on b (Set with the secret), read back through a (Get with the secret).
    expect((await a.fetch(keyUrl(key), { method: 'PUT', body: 'good' })).status).toBe(204);
    const viaA = await a.fetch(keyUrl(key));
    expect([viaA.status, viaA.headers.get('x-arenacache-source'), await viaA.text()]).toEqual([200, 'peer', 'good']);

    const raw = new RawPeerClient(b.grpcAddress);
    try {
      const k = Buffer.from(key);
      const calls: Array<[string, () => Promise<{ code: number }>]> = [];
      const stream = async (md: grpc.Metadata | undefined) => {
        const s = raw.stream(md);
        s.write({ group: 'default', keys: [Buffer.from(key)], batch: 1 });
        s.end();
        return s.status;
      };
      for (const md of [undefined, withSecret('wrong'), withSecret('a-cluster-secret-of-some-lengtX')]) {
        calls.push(
          ['Set', () => raw.call('Set', { group: 'default', key: k, value: Buffer.from('poisoned') }, 5000, md)],
          ['Remove', () => raw.call('Remove', { group: 'default', keys: [k] }, 5000, md)],
          ['Invalidate', () => raw.call('Invalidate', { group: 'default', keys: [k] }, 5000, md)],
          ['Get', () => raw.call('Get', { group: 'default', key: k }, 5000, md)],
          ['GetMany', () => raw.call('GetMany', { group: 'default', keys: [k] }, 5000, md)],
          ['Handoff', () => raw.call('Handoff', { group: 'default', keys: [k] }, 5000, md)],
          ['Flush', () => raw.call('Flush', { group: 'default' }, 5000, md)],
          ['GetStream', () => stream(md)],
        );
      }
      for (const [method, call] of calls) expect([method, (await call()).code]).toEqual([method, grpc.status.UNAUTHENTICATED]);
      // Nothing changed: b still has the value, a still reads it.
      const onB = await b.fetch(keyUrl(key));
      expect([onB.headers.get('x-arenacache-source'), await onB.text()]).toEqual(['main', 'good']);
      expect(await (await a.fetch(keyUrl(key))).text()).toBe('good');
      // The same call with the secret (the file's content without its newline) goes through.
      const ok = await raw.call<{ value: Uint8Array }>('Get', { group: 'default', key: k }, 5000, withSecret(SECRET.trim()));
      expect([ok.code, Buffer.from(ok.response!.value).toString()]).toEqual([grpc.status.OK, 'good']);
      // Health stays open (load balancers, orchestrators).
      expect((await raw.health()).response?.status).toBe('SERVING');
    } finally {
      raw.close();
    }
    const stats = (await (await b.fetch('/v1/stats')).json()) as { grpc: { errors: Record<string, number> } };
    expect(stats.grpc.errors.UNAUTHENTICATED).toBe(24); // 8 methods × 3 bad credentials
  });

  it('a node whose gRPC listener other hosts can reach refuses to start without peer authentication', async () => {
    const refused = await runCli(['serve', '--grpc-host', '0.0.0.0', '--grpc-port', '0', '--http-port', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/does not authenticate peers.*--cluster-secret-file.*--insecure-peers/s);
    // Either way out is accepted (checked without binding anything: --print-config).
    for (const extra of [['--insecure-peers'], ['--cluster-secret-file', secretFile]]) {
      const ok = await runCli(['serve', '--grpc-host', '0.0.0.0', ...extra, '--print-config']);
      expect([extra[0], ok.code, ok.stderr]).toEqual([extra[0], 0, '']);
    }
    const short = tmp.write('short', 'too short\n');
    const bad = await runCli(['serve', '--cluster-secret-file', short, '--print-config']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/at least 16 bytes/)]);
  });
});

describe('HTTP read token and what /v1/stats shows', () => {
  let etcd: EtcdServer;
  let origin: Awaited<ReturnType<typeof httpServer>>;
  beforeAll(async () => {
    etcd = await startEtcd();
    origin = await httpServer((req, res) => res.end(`o:${req.url}`));
  });
  afterAll(async () => {
    await origin?.close();
    await etcd?.destroy();
  });

  it('reads need the read token (or the write token); health does not; stats hide endpoints and origins without one', async () => {
    const n = await startNode([
      '--read-token', 'reader-token', '--auth-token', 'writer-token',
      '--etcd', etcd.endpoints.join(','), '--etcd-service', 'sec',
      '--origin', `${origin.url}/{key}`,
    ]);
    nodes.push(n);
    const as = (token?: string): RequestInit => (token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const reads: Array<[string, RequestInit]> = [
      [keyUrl('k'), {}],
      ['/v1/stats', {}],
      ['/v1/members', {}],
      ['/metrics', {}],
      ['/v1/groups/default/get-many', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"keys":["k"]}' }],
    ];
    for (const [path, init] of reads) {
      const h = (t?: string) => ({ ...init, headers: { ...(init.headers as Record<string, string>), ...(as(t).headers as Record<string, string>) } });
      expect([path, (await n.fetch(path, h())).status]).toEqual([path, 401]);
      expect([path, (await n.fetch(path, h('wrong-token'))).status]).toEqual([path, 401]);
      expect([path, (await n.fetch(path, h('reader-token'))).status]).toEqual([path, 200]);
      expect([path, (await n.fetch(path, h('writer-token'))).status]).toEqual([path, 200]);
    }
    for (const path of ['/healthz', '/readyz']) expect((await n.fetch(path)).status).toBe(200);
    // The read token does not allow writes.
    expect((await n.fetch(keyUrl('k'), { method: 'PUT', body: 'x', ...as('reader-token') })).status).toBe(401);
    expect((await n.fetch(keyUrl('k'), { method: 'PUT', body: 'x', ...as('writer-token') })).status).toBe(204);

    const endpoint = etcd.endpoints[0]!.replace(/^https?:\/\//, '');
    const originHost = origin.url.replace(/^https?:\/\//, '');
    const full = await (await n.fetch('/v1/stats', as('reader-token'))).text();
    expect(full).toContain(endpoint);
    expect(full).toContain(originHost);
    expect(full).not.toContain('reader-token');
    expect(full).not.toContain('writer-token');
  });

  it('without a read token, /v1/stats is open but shows no etcd endpoints, origin URLs or tokens', async () => {
    const n = await startNode(['--auth-token', 'writer-token', '--etcd', etcd.endpoints.join(','), '--etcd-service', 'sec2', '--origin', `${origin.url}/{key}`]);
    nodes.push(n);
    const res = await n.fetch('/v1/stats');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(etcd.endpoints[0]!.replace(/^https?:\/\//, ''));
    expect(text).not.toContain(origin.url.replace(/^https?:\/\//, ''));
    expect(text).not.toContain('writer-token');
    const body = JSON.parse(text) as { config: { etcd: unknown; groups: Array<{ origin: unknown }> } };
    expect(body.config.etcd).toMatchObject({ endpoints: 1, service: 'sec2' });
    expect(body.config.groups[0]!.origin).toEqual({ type: 'http' });
  });
});
