/**
 * scripts/cluster.mjs, the demo: starts a local etcd and three nodes, they serve as one cluster,
 * and one Ctrl-C (SIGINT to the script) stops them all.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/etcd.js';
import { REPO, requireBuild, runCli, waitFor } from './helpers.js';

let pid: number | undefined;
afterAll(() => {
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('scripts/cluster.mjs', () => {
  it('starts etcd and three nodes that form one cluster; SIGINT stops them all', async () => {
    requireBuild();
    const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [join(REPO, 'scripts/cluster.mjs'), '--etcd-port', String(etcdPort), '--etcd-peer-port', String(etcdPeerPort), '--grpc-port', '0', '--http-port', '0'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pid = child.pid;
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    await waitFor('the demo is up', () => out.includes('Ctrl-C stops everything'), 45_000, () => out);
    const urls = [...out.matchAll(/node\d {2}HTTP (http:\/\/\S+)/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(3);
    const logDir = /logs in (\S+)\)/.exec(out)![1]!;
    expect(existsSync(logDir)).toBe(true);

    // One cluster: a value set through node 1 is read through nodes 2 and 3.
    expect((await fetch(`${urls[0]}/v1/groups/default/keys/greeting`, { method: 'PUT', body: 'hello' })).status).toBe(204);
    for (const u of urls) expect(await (await fetch(`${u}/v1/groups/default/keys/greeting`)).text()).toBe('hello');
    const members = (await (await fetch(`${urls[2]}/v1/members`)).json()) as { mode: string; members: { id: string }[] };
    expect([members.mode, members.members.map((m) => m.id).join(',')]).toEqual(['etcd', 'node1,node2,node3']);

    process.kill(child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    for (const n of ['node1', 'node2', 'node3']) expect(out).toContain(`stopped ${n} (exit 0)`);
    expect(out).toContain('stopped etcd');
    expect(await listening(etcdPort)).toBe(false);
    for (const u of urls) await expect(fetch(`${u}/healthz`)).rejects.toThrow();
    expect(existsSync(logDir)).toBe(false);
    pid = undefined;
  });

  it('names the busy port (and the quickstart node) instead of starting a node that exits', async () => {
    requireBuild();
    // node1's HTTP port (port - 1) must be free, or the script rightly names that one instead.
    const busy = createServer();
    let port = 0;
    for (let tries = 0; port === 0; tries++) {
      if (tries === 20) throw new Error('found no free port with a free one just below it');
      const base = await freePort();
      const bound = await new Promise<boolean>((r) => {
        busy.once('error', () => r(false));
        busy.listen(base + 1, '127.0.0.1', () => r(true));
      });
      busy.removeAllListeners('error');
      if (bound) port = base + 1;
    }
    try {
      const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
      const args = ['--etcd-port', String(etcdPort), '--etcd-peer-port', String(etcdPeerPort), '--grpc-port', '0', '--http-port', String(port - 1)];
      const r = await runCli(args, { timeoutMs: 20_000, script: join(REPO, 'scripts/cluster.mjs') });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} (node2 HTTP) is already in use`);
      expect(r.stderr).toContain('--http-port');
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });
});
