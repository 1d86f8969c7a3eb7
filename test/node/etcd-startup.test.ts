/**
 * A node whose etcd cannot be used at start-up names the cause once and exits 1 without claiming to
 * retry: TLS (etcd's certificate signed by a CA the node does not trust) and authentication (a wrong
 * password). Real etcd, real CLI. (Nothing listening at all: operations.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { makeTestPki, type TestPki } from '../helpers/etcd-tls.js';
import { NodeProc, requireBuild, stopAll, tempDir, within } from './helpers.js';

const nodes: NodeProc[] = [];
const tmp = tempDir('arenacache-etcd-start-');
beforeAll(() => requireBuild());
afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

async function failedStart(args: string[]): Promise<NodeProc> {
  const n = new NodeProc([...args, '--grpc-port', '0', '--http-port', '0']);
  nodes.push(n);
  const exit = await within('the node gives up', n.exited, 30_000);
  expect(exit.code, n.tail(20)).toBe(1);
  const last = n.logs[n.logs.length - 1]!;
  expect(last).toMatchObject({ level: 'fatal', msg: 'start failed; exiting' });
  expect(JSON.stringify(n.logs.filter((l) => l.level === 'fatal' || l.level === 'error'))).not.toMatch(/retrying/i);
  return n;
}

describe('etcd over TLS with a CA the node does not trust', () => {
  let pki: TestPki;
  let other: TestPki;
  let etcd: EtcdServer;
  beforeAll(async () => {
    pki = makeTestPki();
    other = makeTestPki();
    etcd = await startEtcd({ tls: pki });
  });
  afterAll(async () => {
    await etcd?.destroy();
    pki?.cleanup();
    other?.cleanup();
  });

  it('names "TLS handshake failed" once, then exits 1 at the start timeout', async () => {
    const n = await failedStart(['--etcd', etcd.endpoints.join(','), '--etcd-ca', other.caFile, '--etcd-start-timeout', '3s']);
    const warnings = n.logs.filter((l) => l.level === 'warn' && l.component === 'etcd' && l.msg !== 'etcd still unreachable');
    expect(warnings, n.tail(20)).toHaveLength(1);
    expect(warnings[0]!.cause).toMatch(/^TLS handshake failed/);
    expect(String(n.logs.at(-1)!.err)).toMatch(/etcd not reachable within 3000 ms .*: TLS handshake failed/);
  });
});

describe('etcd with authentication and a wrong password', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
    etcd.etcdctl('user', 'add', 'root', '--new-user-password=rootpw');
    etcd.etcdctl('user', 'add', 'node', '--new-user-password=nodepw');
    etcd.etcdctl('auth', 'enable');
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('exits 1 at once (well before the start timeout), naming the credentials', async () => {
    const pw = tmp.write('wrong-password', 'wrong\n');
    const n = await failedStart(['--etcd', etcd.endpoints.join(','), '--etcd-user', 'node', '--etcd-password-file', pw]);
    expect(String(n.logs.at(-1)!.err)).toMatch(/etcd refused the node's credentials: authentication refused/);
  });
});
