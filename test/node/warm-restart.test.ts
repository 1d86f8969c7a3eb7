/**
 * `--data-dir`: real `arenacache serve` processes stopped with SIGTERM and started again on the
 * same directory. The restarted node serves its previous contents (from its main cache, TTLs still
 * counting); a corrupt, truncated or incompatible snapshot never stops it from starting; a
 * snapshot is used once (a crash after a restore does not bring old values back); in a static
 * cluster the restarted node serves what it owned — nothing could change meanwhile: writes for its
 * keys fail while it is down — and a node whose ring changed drops what it restored.
 */
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ring, ringHash } from '../../src/cluster/index.js';
import { freePort } from '../helpers/etcd.js';
import { metric, NodeProc, requireBuild, runCli, scrape, startNode, stopAll, tempDir, waitFor } from './helpers.js';

const nodes: NodeProc[] = [];
afterAll(() => stopAll(nodes));
const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const keyUrl = (k: string, group = 'default') => `/v1/groups/${group}/keys/${encodeURIComponent(k)}`;

async function put(n: NodeProc, key: string, value: string | Uint8Array, ttl?: string): Promise<number> {
  const res = await n.fetch(keyUrl(key), { method: 'PUT', body: value as BodyInit, ...(ttl ? { headers: { 'x-arenacache-ttl': ttl } } : {}) });
  await res.arrayBuffer();
  return res.status;
}

async function read(n: NodeProc, key: string): Promise<{ status: number; source: string | null; body: string }> {
  const res = await n.fetch(keyUrl(key));
  return { status: res.status, source: res.headers.get('x-arenacache-source'), body: await res.text() };
}

async function start(args: string[]): Promise<NodeProc> {
  const n = await startNode(args);
  nodes.push(n);
  return n;
}

async function stop(n: NodeProc): Promise<void> {
  const e = await n.stop('SIGTERM');
  expect(e.code, n.tail()).toBe(0);
}

function dataDir(): string {
  const d = tempDir('arenacache-warm-');
  dirs.push(d);
  return join(d.dir, 'data'); // created by the node
}

const logged = (n: NodeProc, msg: string) => n.logs.filter((l) => l.msg === msg);

describe('warm restart (--data-dir), one node', () => {
  it('serves its previous contents after a graceful restart, from its main cache, TTLs still counting', async () => {
    requireBuild();
    const dir = dataDir();
    const a = await start(['--data-dir', dir, '--max-bytes', '8MiB']);
    const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
    for (let i = 0; i < 500; i++) expect(await put(a, `k${i}`, `value-${i}`)).toBe(204);
    expect(await put(a, 'big', big)).toBe(204);
    expect(await put(a, 'short', 'gone soon', '1500ms')).toBe(204);
    expect(await put(a, 'long', 'stays', '1h')).toBe(204);
    await stop(a);
    const written = logged(a, 'snapshot written');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ group: 'default', entries: 503 });
    const file = join(dir, 'default.snapshot');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['default.snapshot']); // no temporary file left

    const b = await start(['--data-dir', dir, '--max-bytes', '8MiB']);
    // Only the 1.5 s entry may have expired meanwhile (on a slow machine the restart takes longer).
    const restored = logged(b, 'snapshot restored')[0]!;
    expect(restored).toMatchObject({ group: 'default', skipped: 0 });
    expect(restored.expired as number).toBeLessThanOrEqual(1);
    expect((restored.entries as number) + (restored.expired as number)).toBe(503);
    expect(logged(b, 'ready')[0]!.groups).toEqual([expect.objectContaining({ name: 'default', restored: restored.entries })]);
    expect(existsSync(file)).toBe(false); // consumed
    for (const i of [0, 1, 250, 499]) expect(await read(b, `k${i}`)).toEqual({ status: 200, source: 'main', body: `value-${i}` });
    const gotBig = new Uint8Array(await (await b.fetch(keyUrl('big'))).arrayBuffer());
    expect(Buffer.compare(gotBig, big)).toBe(0);
    expect((await read(b, 'long')).body).toBe('stays');
    const s = await scrape(b);
    expect(metric(s, 'arenacache_snapshot_restored_entries', { group: 'default' })).toBe(restored.entries);
    expect(metric(s, 'arenacache_snapshot_restore_outcome', { group: 'default', outcome: 'restored' })).toBe(1);
    expect(metric(s, 'arenacache_loads_total', { group: 'default' })).toBe(0);
    // TTLs are restored too: the 1.5 s one runs out (the time the node was down counted).
    await waitFor('the restored short TTL to run out', async () => (await read(b, 'short')).status === 404, 10_000);
    await stop(b);
  });

  it('a snapshot is used once: after a crash the node starts cold, never with values older than what it acknowledged', async () => {
    requireBuild();
    const dir = dataDir();
    const a = await start(['--data-dir', dir]);
    expect(await put(a, 'k', 'v1')).toBe(204);
    await stop(a);
    const b = await start(['--data-dir', dir]);
    expect((await read(b, 'k')).body).toBe('v1');
    expect(await put(b, 'k', 'v2')).toBe(204); // acknowledged, then lost in the crash
    const e = await b.stop('SIGKILL');
    expect(e.signal).toBe('SIGKILL');
    const c = await start(['--data-dir', dir]);
    expect(logged(c, 'snapshot restored')).toHaveLength(0);
    expect((await read(c, 'k')).status).toBe(404); // neither v2 (lost) nor v1 (older)
    await stop(c);
  });

  it('a corrupt or truncated snapshot: the node starts empty, the file is moved aside, one error line', async () => {
    requireBuild();
    for (const damage of ['flip', 'truncate', 'garbage'] as const) {
      const dir = dataDir();
      const a = await start(['--data-dir', dir]);
      for (let i = 0; i < 300; i++) await put(a, `k${i}`, `value-${i}`.repeat(10));
      await stop(a);
      const file = join(dir, 'default.snapshot');
      const size = statSync(file).size;
      if (damage === 'flip') {
        const bytes = readFileSync(file);
        bytes[Math.floor(size * 0.6)]! ^= 0x40;
        writeFileSync(file, bytes);
      } else if (damage === 'truncate') {
        truncateSync(file, Math.floor(size / 2));
      } else {
        writeFileSync(file, 'not a snapshot at all\n');
      }
      const b = await start(['--data-dir', dir]);
      const errs = b.logs.filter((l) => l.level !== 'raw' && String(l.msg).startsWith('snapshot corrupt'));
      expect(errs, damage).toHaveLength(1);
      expect(errs[0]!.movedTo as string).toMatch(/default\.snapshot\.corrupt-/);
      expect(readdirSync(dir).filter((f) => f.includes('.corrupt-')), damage).toHaveLength(1);
      expect((await read(b, 'k1')).status, damage).toBe(404);
      const s = await scrape(b);
      expect(metric(s, 'arenacache_snapshot_restore_outcome', { group: 'default', outcome: 'corrupt' }), damage).toBe(1);
      expect(metric(s, 'arenacache_entries', { group: 'default', cache: 'main' }), damage).toBe(0);
      await stop(b);
    }
  });

  it('an incompatible snapshot (the group\'s TTL changed) is skipped with one line and removed', async () => {
    requireBuild();
    const dir = dataDir();
    const a = await start(['--data-dir', dir]);
    expect(await put(a, 'k', 'v')).toBe(204);
    await stop(a);
    const b = await start(['--data-dir', dir, '--ttl', '5m']);
    const lines = logged(b, 'snapshot incompatible: skipped and removed');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.reason).toMatch(/ttl changed/);
    expect(readdirSync(dir)).toEqual([]);
    expect((await read(b, 'k')).status).toBe(404);
    await stop(b);
  });

  it('--data-dir with --etcd or --peers-dns is refused (exit 2): a stopped node leaves that membership', async () => {
    requireBuild();
    const dir = dataDir();
    const etcd = await runCli(['serve', '--data-dir', dir, '--etcd', 'http://127.0.0.1:1']);
    expect(etcd.code).toBe(2);
    expect(etcd.stderr).toMatch(/--data-dir needs a static membership .* not --etcd/);
    const dns = await runCli(['serve', '--data-dir', dir, '--peers-dns', 'peers.example:7070', '--grpc-port', '7070']);
    expect(dns.code).toBe(2);
    expect(dns.stderr).toMatch(/not --peers-dns/);
    const file = tempDir();
    dirs.push(file);
    const notDir = file.write('plain-file', 'x');
    const bad = await runCli(['serve', '--data-dir', notDir]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--data-dir: .* is not a directory/)]);
  });
});

describe('warm restart in a static cluster', () => {
  it('the restarted node serves what it owned (writes for its keys failed while it was down); a changed ring drops what it restored', async () => {
    requireBuild();
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const peers = `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`;
    // loadTimeout 1 s: a write for a key whose owner is down gives up after 2 s.
    const common = ['--peers', peers, '--load-timeout', '1s', '--max-bytes', '4MiB'];
    const [dirA, dirB] = [dataDir(), dataDir()];
    const started = await Promise.all([
      start(['--id', 'a', '--grpc-port', String(pa), '--data-dir', dirA, ...common]),
      start(['--id', 'b', '--grpc-port', String(pb), '--data-dir', dirB, ...common]),
    ]);
    let a = started[0];
    const b = started[1];
    const ring = new Ring([{ id: 'a', grpcAddress: '' }, { id: 'b', grpcAddress: '' }]);
    const keys = Array.from({ length: 40 }, (_, i) => `c${i}`);
    const onA = keys.filter((k) => ring.ownerOfHash(ringHash(k))!.id === 'a');
    // Started together, each may have dialed the other before it listened: wait for the channels.
    const connected = async (n: NodeProc) => ((await (await n.fetch('/v1/stats')).json()) as { peers: { state: string }[] }).peers.every((p) => p.state === 'READY');
    await waitFor('peer channels connected', async () => (await connected(a)) && (await connected(b)), 15_000);
    for (const k of keys) expect(await put(b, k, `v1:${k}`)).toBe(204);

    await stop(a);
    // While a is down nobody else owns its keys: a write or delete of one fails, nothing changes.
    expect(await put(b, onA[0]!, 'v2')).toBe(503);
    expect((await b.fetch(keyUrl(onA[1]!), { method: 'DELETE' })).status).toBe(503);
    // A flush meanwhile reaches b only, and says so.
    const flush = await runCli(['flush', 'default', '--url', b.url]);
    expect(flush.code).toBe(2);
    expect(flush.stdout.toString()).toMatch(/^a\tNOT flushed: peer_unavailable/m);

    a = await start(['--id', 'a', '--grpc-port', String(pa), '--data-dir', dirA, ...common]);
    expect(logged(a, 'snapshot restored')[0]).toMatchObject({ entries: onA.length });
    for (const k of onA) expect(await read(a, k)).toEqual({ status: 200, source: 'main', body: `v1:${k}` });
    // b took a for suspect while it was down (its writes failed); it probes a again within a second.
    await waitFor('b reads a\'s key from the restarted a', async () => {
      const r = await read(b, onA[2]!);
      return r.status === 200 && r.source === 'peer' && r.body === `v1:${onA[2]}`;
    }, 15_000);

    // a comes back into another ring (the member list changed): what it restored is dropped.
    await stop(a);
    const changed = `a=127.0.0.1:${pa},b=127.0.0.1:${pb},c=127.0.0.1:${pc}`;
    a = await start(['--id', 'a', '--grpc-port', String(pa), '--data-dir', dirA, '--peers', changed, '--load-timeout', '1s', '--max-bytes', '4MiB']);
    const dropped = logged(a, 'restored entries dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.reason).toMatch(/ring differs/);
    const s = await scrape(a);
    expect(metric(s, 'arenacache_entries', { group: 'default', cache: 'main' })).toBe(0);
    expect(metric(s, 'arenacache_snapshot_restore_outcome', { group: 'default', outcome: 'dropped' })).toBe(1);
    await Promise.all([stop(a), stop(b)]);
  });
});
