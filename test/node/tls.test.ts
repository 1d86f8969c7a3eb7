/**
 * Peer gRPC over mutual TLS, configured through the CLI (`--tls-*` flags and ARENACACHE_TLS_*
 * variables), with certificates made by openssl at test time: two nodes with valid certificates
 * serve each other's keys; a node whose client certificate is not signed by the CA cannot fetch
 * from them and falls back to its own (empty) origin.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ring, ringHash, type NodeInfo } from '../../src/cluster/index.js';
import { freePort } from '../helpers/etcd.js';
import { makePki, type TestPki } from '../helpers/grpc-certs.js';
import { RawPeerClient } from '../helpers/grpc-raw.js';
import { NodeProc, requireBuild, startNode, stopAll, waitFor } from './helpers.js';

const nodes: NodeProc[] = [];
let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(async () => {
  await stopAll(nodes);
  pki?.cleanup();
});

interface Stats {
  peers: { id: string; state: string }[];
  grpc: { get: { calls: number }; getMany: { calls: number }; stream: { calls: number }; set: { calls: number } };
  groups: { default: { peerErrors: number; localFallbacks: number; peerFetches: number } };
}
const stats = async (n: NodeProc) => (await (await n.fetch('/v1/stats')).json()) as Stats;
const keyUrl = (k: string) => `/v1/groups/default/keys/${k}`;

/** A key that `owner` owns on the ring of `ids` (the nodes build the same ring from the same ids). */
function keyOwnedBy(ids: string[], owner: string, prefix: string): string {
  const ring = new Ring(ids.map((id): NodeInfo => ({ id, grpcAddress: `${id}:1` })));
  for (let i = 0; ; i++) if (ring.ownerOfHash(ringHash(`${prefix}${i}`))?.id === owner) return `${prefix}${i}`;
}

describe('peer TLS from the command line', () => {
  it('two mTLS nodes serve each other; a node with a certificate from another CA cannot fetch from them', async () => {
    requireBuild();
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const peers = `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`;
    const common = ['--max-bytes', '4MiB', '--peers', peers];
    const [a, b] = await Promise.all([
      startNode(['--id', 'a', '--grpc-port', String(pa), ...common,
        '--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--tls-ca', pki.caFile, '--tls-mutual']),
      startNode(['--id', 'b', '--grpc-port', String(pb), ...common], {
        ARENACACHE_TLS_CERT: pki.certFile,
        ARENACACHE_TLS_KEY: pki.keyFile,
        ARENACACHE_TLS_CA: pki.caFile,
        ARENACACHE_TLS_MUTUAL: 'true',
      }),
    ]);
    nodes.push(a, b);
    const cfg = (await (await a.fetch('/v1/stats')).json()) as { config: { grpc: { tls: unknown } } };
    // Without a token /v1/stats shows how the node behaves, not where its files are.
    expect(cfg.config.grpc.tls).toEqual({ mutual: true });
    const ready = async (n: NodeProc) => (await stats(n)).peers.every((p) => p.state === 'READY');
    await waitFor('TLS peer channels connected', async () => (await ready(a)) && (await ready(b)), 10_000);

    // Written through a, owned by b (Set over TLS); read through a (Get over TLS) and on b.
    const kb = keyOwnedBy(['a', 'b'], 'b', 'kb');
    expect((await a.fetch(keyUrl(kb), { method: 'PUT', body: 'owned by b' })).status).toBe(204);
    const viaA = await a.fetch(keyUrl(kb));
    expect([viaA.status, viaA.headers.get('x-arenacache-source'), await viaA.text()]).toEqual([200, 'peer', 'owned by b']);
    const onB = await b.fetch(keyUrl(kb));
    expect([onB.headers.get('x-arenacache-source'), await onB.text()]).toEqual(['main', 'owned by b']);
    // And the other way round.
    const ka = keyOwnedBy(['a', 'b'], 'a', 'ka');
    expect((await a.fetch(keyUrl(ka), { method: 'PUT', body: 'owned by a' })).status).toBe(204);
    const viaB = await b.fetch(keyUrl(ka));
    expect([viaB.status, viaB.headers.get('x-arenacache-source'), await viaB.text()]).toEqual([200, 'peer', 'owned by a']);

    // Both really serve TLS: a plaintext client is refused.
    for (const n of [a, b]) {
      const plain = new RawPeerClient(n.grpcAddress, grpc.credentials.createInsecure());
      try {
        expect((await plain.call('Get', { group: 'default', key: Buffer.from(ka) }, 3000)).code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        plain.close();
      }
    }

    // c trusts the CA, but its own certificate (server and client) comes from another CA: b's
    // mutual TLS refuses the handshake, so c's fetch fails and c loads the key itself (no origin:
    // not found), never reaching b's Peer service.
    const bBefore = (await stats(b)).grpc;
    const c = await startNode([
      '--id', 'c', '--grpc-port', String(pc), '--max-bytes', '4MiB', '--peers', `${peers},c=127.0.0.1:${pc}`,
      '--tls-cert', pki.rogueCertFile, '--tls-key', pki.rogueKeyFile, '--tls-ca', pki.caFile,
    ]);
    nodes.push(c);
    const kc = keyOwnedBy(['a', 'b', 'c'], 'b', 'kb');
    expect((await a.fetch(keyUrl(kc), { method: 'PUT', body: 'secret' })).status).toBe(204);
    const viaC = await c.fetch(keyUrl(kc));
    expect([viaC.status, viaC.headers.get('x-arenacache-source')]).toEqual([404, 'fallback']);
    const cs = await stats(c);
    expect(cs.groups.default).toMatchObject({ peerFetches: 1, peerErrors: 1, localFallbacks: 1 });
    expect(cs.peers.find((p) => p.id === 'b')!.state).not.toBe('READY');
    const bAfter = (await stats(b)).grpc;
    expect([bAfter.get.calls, bAfter.getMany.calls, bAfter.stream.calls]).toEqual([bBefore.get.calls, bBefore.getMany.calls, bBefore.stream.calls]);
  });
});
