/** etcd with user/password auth, and etcd with mutual TLS. */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { makeTestPki, type TestPki } from '../helpers/etcd-tls.js';
import { makeNode, closeAll, waitFor, ids, nodeInfo, type TestNode } from '../helpers/etcd-testkit.js';
import { startEtcdMembership } from '../../src/discovery/index.js';

const nodes: TestNode[] = [];
afterEach(async () => {
  await closeAll(nodes.splice(0));
});

describe('etcd auth (user/password)', () => {
  let etcd: EtcdServer;
  const root = ['--user', 'root:rootpw'];

  beforeAll(async () => {
    etcd = await startEtcd();
    etcd.etcdctl('user', 'add', 'root', '--new-user-password=rootpw');
    etcd.etcdctl('role', 'add', 'arenacache');
    etcd.etcdctl('role', 'grant-permission', 'arenacache', '--prefix=true', 'readwrite', '/arenacache/');
    etcd.etcdctl('user', 'add', 'node', '--new-user-password=nodepw');
    etcd.etcdctl('user', 'grant-role', 'node', 'arenacache');
    etcd.etcdctl('auth', 'enable');
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('registers and discovers as a user limited to the prefix; close revokes', async () => {
    const auth = { username: 'node', password: 'nodepw' };
    const [a, b] = [makeNode('a', etcd.endpoints, { auth }), makeNode('b', etcd.endpoints, { auth })];
    nodes.push(a, b);
    await Promise.all([a.m.start(), b.m.start()]);
    await waitFor('a and b see each other', () => [a, b].every((n) => ids(n.m.members()).join() === 'a,b'), 3000);
    expect(etcd.etcdctl(...root, 'get', '--prefix', '--keys-only', '/arenacache/test/')).toMatch(/\/arenacache\/test\/a[\s\S]*\/arenacache\/test\/b/);
    await b.m.close();
    expect(b.m.leaseState).toBe('revoked');
    expect(etcd.etcdctl(...root, 'get', '--prefix', '--keys-only', '/arenacache/test/').trim()).toBe('/arenacache/test/a');
  });

  it('fails start() promptly on a wrong password or missing credentials (not after the start timeout)', async () => {
    const bad = makeNode('bad', etcd.endpoints, { auth: { username: 'node', password: 'wrong' }, startTimeoutMs: 10_000 });
    const none = makeNode('none', etcd.endpoints, { startTimeoutMs: 10_000 });
    nodes.push(bad, none);
    const t0 = Date.now();
    await expect(bad.m.start()).rejects.toThrow(/authentication failed/);
    await expect(none.m.start()).rejects.toThrow(/user name is empty|permission denied|Unauthenticated/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(etcd.etcdctl(...root, 'get', '--prefix', '--keys-only', '/arenacache/test/bad')).toBe('');
  });
});

describe('etcd over mutual TLS', () => {
  let pki: TestPki;
  let etcd: EtcdServer;

  beforeAll(async () => {
    pki = makeTestPki();
    etcd = await startEtcd({ tls: pki });
  });
  afterAll(async () => {
    await etcd?.destroy();
    pki?.cleanup();
  });

  it('registers and discovers over TLS with a client certificate (config with file paths)', async () => {
    expect(etcd.endpoints[0]).toMatch(/^https:/);
    const tls = { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
    const a = await startEtcdMembership(nodeInfo('a'), { endpoints: etcd.endpoints, service: 'test', leaseTtlSeconds: 2, tls });
    const b = makeNode('b', etcd.endpoints, {
      tls: { ca: readFileSync(pki.caFile), cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) },
    });
    nodes.push(b);
    try {
      await b.m.start();
      expect(ids(b.m.members())).toEqual(['a', 'b']);
      await waitFor('a sees b', () => ids(a.members()).join() === 'a,b', 3000);
      expect(etcd.etcdctl('get', '--prefix', '--keys-only', '/arenacache/test/')).toContain('/arenacache/test/a');
    } finally {
      await a.close();
    }
    await waitFor('b drops a', () => ids(b.m.members()).join() === 'b', 1000);
  });

  it('does not connect when the server certificate is not signed by the configured CA', async () => {
    const other = makeTestPki(); // a different CA
    try {
      const x = makeNode('x', etcd.endpoints, {
        tls: { ca: readFileSync(other.caFile), cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) },
        startTimeoutMs: 1500,
      });
      nodes.push(x);
      await expect(x.m.start()).rejects.toThrow(/not done within 1500 ms/);
      expect(x.m.etcdReachable).toBe(false);
      expect(x.m.leaseState).toBe('none');
    } finally {
      other.cleanup();
    }
  });
});
