/**
 * Peer traffic over TLS and mutual TLS with certificates made at test time.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Group } from '../../src/cluster/index.js';
import { ClusterHarness, type TestNode } from '../helpers/cluster-harness.js';
import { makePki, type TestPki } from '../helpers/grpc-certs.js';
import { RawPeerClient } from '../helpers/grpc-raw.js';

let pki: TestPki;
let h: ClusterHarness | undefined;
const clients: RawPeerClient[] = [];

beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.cleanup());
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
});

async function twoNodes(mutual: boolean): Promise<{ g1: Group; n1: TestNode; n2: TestNode; key: string }> {
  h = await ClusterHarness.start(2, {
    // With mutual TLS the peers verify the name "localhost" (serverName) instead of the IP.
    grpc: {
      tls: {
        caFile: pki.caFile,
        certFile: pki.certFile,
        keyFile: pki.keyFile,
        mutual,
        ...(mutual ? { serverName: 'localhost' } : {}),
      },
    },
  });
  const [n1, n2] = h.nodes as [TestNode, TestNode];
  let g1: Group | undefined;
  for (const n of h.nodes) {
    const g = await n.cluster.addGroup('sec', { maxBytes: 1 << 20, load: (k) => `${k} by ${n.id}` });
    if (n === n1) g1 = g;
  }
  let key = '';
  for (let i = 0; ; i++) if (h.ownerOf(`t-${i}`) === n2) { key = `t-${i}`; break; }
  return { g1: g1!, n1, n2, key };
}

function rawClient(address: string, creds: grpc.ChannelCredentials): RawPeerClient {
  const c = new RawPeerClient(address, creds);
  clients.push(c);
  return c;
}

const get = (c: RawPeerClient) => c.call('Get', { group: 'sec', key: Buffer.from('x') }, 3000);

describe('TLS between peers', () => {
  it('mutual TLS: peers fetch from each other; clients without a valid certificate are refused', async () => {
    const { g1, n1, n2, key } = await twoNodes(true);
    const r = await g1.getResult(key);
    expect(r.source).toBe('peer');
    expect(Buffer.from(r.value!).toString()).toBe(`${key} by ${n2.id}`);
    expect(n2.cluster.stats().server.stream.calls).toBe(1);
    void n1;

    const ca = readFileSync(pki.caFile);
    const addr = n2.cluster.self.grpcAddress;
    const good = rawClient(addr, grpc.credentials.createSsl(ca, readFileSync(pki.keyFile), readFileSync(pki.certFile)));
    expect((await get(good)).code).toBe(grpc.status.OK);

    const noCert = rawClient(addr, grpc.credentials.createSsl(ca));
    expect((await get(noCert)).code).toBe(grpc.status.UNAVAILABLE);
    const rogue = rawClient(
      addr,
      grpc.credentials.createSsl(ca, readFileSync(pki.rogueKeyFile), readFileSync(pki.rogueCertFile)),
    );
    expect((await get(rogue)).code).toBe(grpc.status.UNAVAILABLE);
    const plaintext = rawClient(addr, grpc.credentials.createInsecure());
    expect((await get(plaintext)).code).toBe(grpc.status.UNAVAILABLE);
    expect(n2.cluster.stats().server.get.calls).toBe(1); // only the good client got through
  });

  it('server-only TLS: clients need the CA but no certificate', async () => {
    const { g1, n2, key } = await twoNodes(false);
    expect((await g1.getResult(key)).source).toBe('peer');
    const addr = n2.cluster.self.grpcAddress;
    const noCert = rawClient(addr, grpc.credentials.createSsl(readFileSync(pki.caFile)));
    expect((await get(noCert)).code).toBe(grpc.status.OK);
    const plaintext = rawClient(addr, grpc.credentials.createInsecure());
    expect((await get(plaintext)).code).toBe(grpc.status.UNAVAILABLE);
  });
});
