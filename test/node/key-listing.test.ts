/**
 * `GET /v1/groups/{group}/keys?prefix=&limit=&cursor=` against real nodes: who may list, every
 * bad input answered 4xx with a JSON error, and paging that lists every key present for the whole
 * listing exactly once while the cache changes between pages.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { NodeProc, requireBuild, runCli, startNode, stopAll, tempDir } from './helpers.js';

const nodes: NodeProc[] = [];
const tmp = tempDir();
afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

async function start(args: string[] = []): Promise<NodeProc> {
  const n = await startNode(args);
  nodes.push(n);
  return n;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function list(n: NodeProc, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await n.fetch(`/v1/groups/default/keys${query}`, { headers });
  return { status: res.status, body: await res.json() };
}

async function setMany(n: NodeProc, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const items = keys.slice(i, i + 1000).map((key) => ({ key, value: 'v' }));
    const res = await n.fetch('/v1/groups/default/set-many', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items, encoding: 'utf8' }),
    });
    expect(res.status).toBe(200);
  }
}

describe('key listing', () => {
  it('admin token: required when set (401 otherwise), accepted for writes too; without it a node with tokens refuses (403)', async () => {
    requireBuild();
    const a = await start(['--admin-token', 'adm', '--auth-token', 'wr', '--read-token', 'rd']);
    for (const h of [{}, bearer('wr'), bearer('rd'), bearer('ad')]) {
      const r = await list(a, '', h);
      expect([r.status, r.body.error]).toEqual([401, 'unauthorized']);
    }
    expect((await list(a, '', bearer('adm'))).status).toBe(200);
    // The admin token works wherever the write and read tokens do.
    expect((await a.fetch('/v1/groups/default/keys/k', { method: 'PUT', body: 'v', headers: bearer('adm') })).status).toBe(204);
    expect((await a.fetch('/v1/groups/default/keys/k', { headers: bearer('adm') })).status).toBe(200);

    const b = await start(['--auth-token', 'wr']);
    const r = await list(b, '', bearer('wr'));
    expect([r.status, r.body.error]).toEqual([403, 'forbidden']);
    const open = await start();
    expect((await list(open, '')).status).toBe(200);
    // The admin token is redacted like the others.
    const cfg = await runCli(['serve', '--admin-token', 'adm', '--print-config']);
    expect(JSON.parse(cfg.stdout.toString()).http.adminToken).toBe('<redacted>');
  });

  it('bad input is a 4xx with a JSON error', async () => {
    requireBuild();
    const a = await start();
    const cases: Array<[string, number, string]> = [
      ['?limit=0', 400, 'bad_limit'],
      ['?limit=1001', 400, 'bad_limit'],
      ['?limit=abc', 400, 'bad_limit'],
      ['?limit=-1', 400, 'bad_limit'],
      ['?limit=1.5', 400, 'bad_limit'],
      [`?prefix=${'x'.repeat(1025)}`, 400, 'bad_prefix'],
      ['?prefix=%FF', 400, 'bad_request'],
      ['?prefix=%zz', 400, 'bad_request'],
      ['?limt=5', 400, 'bad_request'],
      ['?limit=5&limit=6', 400, 'bad_request'],
      ['?cursor=nope', 410, 'cursor_expired'],
    ];
    for (const [q, status, error] of cases) {
      const r = await list(a, q);
      expect([q, r.status, r.body.error], r.body.message).toEqual([q, status, error]);
      expect(typeof r.body.message).toBe('string');
    }
    expect((await a.fetch('/v1/groups/nosuch/keys')).status).toBe(404);
    expect((await a.fetch('/v1/groups/bad%2Fname/keys')).status).toBe(400);
    const post = await a.fetch('/v1/groups/default/keys', { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  });

  it('pages through every key exactly once while keys are added and removed between pages; prefix filters', async () => {
    requireBuild();
    const a = await start();
    const stable = Array.from({ length: 2500 }, (_, i) => `stable/${i}`);
    const doomed = Array.from({ length: 300 }, (_, i) => `doomed/${i}`);
    await setMany(a, [...stable, ...doomed]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await list(a, `?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.keys.length).toBeLessThanOrEqual(100);
      seen.push(...r.body.keys);
      cursor = r.body.cursor;
      pages++;
      // Between pages: new keys, removed keys, and reads that move entries in the eviction order.
      if (pages <= 10) {
        await setMany(a, Array.from({ length: 20 }, (_, i) => `added/${pages}/${i}`));
        for (let i = 0; i < 30; i++) await a.fetch(`/v1/groups/default/keys/doomed%2F${pages * 30 + i - 30}`, { method: 'DELETE' });
        for (let i = 0; i < 50; i++) await a.fetch(`/v1/groups/default/keys/stable%2F${(pages * 97 + i) % 2500}`);
      }
    } while (cursor !== null);
    expect(pages).toBeGreaterThanOrEqual(25);
    const counts = new Map<string, number>();
    for (const k of seen) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true); // nothing twice
    expect(stable.filter((k) => !counts.has(k))).toEqual([]); // every key present throughout
    expect(seen.every((k) => /^(stable|doomed|added)\//.test(k))).toBe(true);

    // prefix, and the CLI (which follows the cursors)
    const only = (await list(a, `?prefix=${encodeURIComponent('stable/12')}&limit=1000`)).body;
    expect(only.keys.sort()).toEqual(stable.filter((k) => k.startsWith('stable/12')).sort());
    expect(only.cursor).toBeNull();
    const cli = await runCli(['keys', 'default', '--prefix', 'stable/1', '--url', a.url]);
    expect(cli.code).toBe(0);
    expect(cli.stdout.toString().trim().split('\n').sort()).toEqual(stable.filter((k) => k.startsWith('stable/1')).sort());
    const first = await runCli(['keys', 'default', '--limit', '7', '--json', '--url', a.url]);
    expect(JSON.parse(first.stdout.toString())).toHaveLength(7);
  });

  it('a cursor belongs to its listing: another prefix or group is refused', async () => {
    requireBuild();
    const config = tmp.write('node.json', JSON.stringify({ groups: [{ name: 'default', maxBytes: '4MiB' }, { name: 'second', maxBytes: '1MiB' }] }));
    const a = await start(['--config', config]);
    await setMany(a, Array.from({ length: 50 }, (_, i) => `p/${i}`));
    const first = await list(a, '?prefix=p&limit=10');
    expect(first.body.cursor).toEqual(expect.any(String));
    const other = await list(a, `?prefix=q&limit=10&cursor=${first.body.cursor}`);
    expect([other.status, other.body.error]).toEqual([400, 'bad_cursor']);
    const res = await a.fetch(`/v1/groups/second/keys?cursor=${first.body.cursor}`);
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, 'bad_cursor']);
    // The listing itself goes on (the same prefix may be repeated or left out).
    const next = await list(a, `?limit=10&cursor=${first.body.cursor}`);
    expect(next.status).toBe(200);
  });
});
