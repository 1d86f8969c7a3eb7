/**
 * `POST /v1/groups/{group}/set-many` against real nodes: the write token, every kind of bad input
 * (4xx with a JSON error, nothing stored), values stored on their owners in a static cluster, and
 * an owner that is down failing only its own items.
 */
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { Ring, ringHash } from '../../src/cluster/index.js';
import { freePort } from '../helpers/etcd.js';
import { NodeProc, requireBuild, startNode, stopAll, waitFor } from './helpers.js';

const nodes: NodeProc[] = [];
afterAll(() => stopAll(nodes));

async function start(args: string[] = []): Promise<NodeProc> {
  const n = await startNode(args);
  nodes.push(n);
  return n;
}

async function post(n: NodeProc, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await n.fetch('/v1/groups/default/set-many', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** POST set-many declaring `length` body bytes, sending none: the answer to the headers alone. */
function declaredBody(n: NodeProc, length: number): Promise<{ status: number; error: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${n.url}/v1/groups/default/set-many`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(length) },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.once('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, error: (JSON.parse(text) as { error: string }).error });
      });
    });
    req.flushHeaders();
  });
}

async function value(n: NodeProc, key: string): Promise<string | number> {
  const res = await n.fetch(`/v1/groups/default/keys/${encodeURIComponent(key)}`);
  return res.status === 200 ? await res.text() : res.status;
}

describe('set-many', () => {
  it('stores every item (utf8 or base64, with or without a TTL); 401 without the write token', async () => {
    requireBuild();
    const a = await start(['--auth-token', 'wr']);
    const items = [
      { key: 'a', value: 'one' },
      { key: 'b/c', value: 'two', ttl: '1h' },
      { key: 'ttl', value: 'short', ttl: 300 },
    ];
    const denied = await post(a, { items, encoding: 'utf8' });
    expect([denied.status, denied.body.error]).toEqual([401, 'unauthorized']);
    expect(await value(a, 'a')).toBe(404);
    const ok = await post(a, { items, encoding: 'utf8' }, { authorization: 'Bearer wr' });
    expect([ok.status, ok.body]).toEqual([200, { stored: 3 }]);
    expect(await value(a, 'a')).toBe('one');
    expect(await value(a, 'b/c')).toBe('two');
    await waitFor('the 300 ms TTL to run out', async () => (await value(a, 'ttl')) === 404, 10_000);
    const b64 = await post(a, { items: [{ key: 'bin', value: Buffer.from([0, 255, 1]).toString('base64') }] }, { authorization: 'Bearer wr' });
    expect(b64.status).toBe(200);
    const bin = new Uint8Array(await (await a.fetch('/v1/groups/default/keys/bin')).arrayBuffer());
    expect([...bin]).toEqual([0, 255, 1]);
  });

  it('bad input: 4xx with a JSON error naming every bad item, and nothing stored', async () => {
    requireBuild();
    const a = await start(['--max-bytes', '1MiB']);
    const limit = ((await (await a.fetch('/v1/stats')).json()) as any).groups.default.config.maxValueBytes as number;
    const bodies: Array<[string, unknown, Record<string, string>, number, string]> = [
      ['not JSON', '{"items": [', {}, 400, 'bad_body'],
      ['no items', { keys: [] }, {}, 400, 'bad_body'],
      ['items not a list', { items: {} }, {}, 400, 'bad_body'],
      ['unknown field', { items: [], extra: 1 }, {}, 400, 'bad_body'],
      ['bad encoding', { items: [], encoding: 'hex' }, {}, 400, 'bad_body'],
      ['too many items', { items: Array.from({ length: 4097 }, (_, i) => ({ key: `k${i}`, value: '' })) }, {}, 400, 'bad_body'],
      ['wrong content type', { items: [] }, { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ];
    for (const [what, body, headers, status, error] of bodies) {
      const r = await post(a, body, headers);
      expect([what, r.status, r.body.error]).toEqual([what, status, error]);
    }
    // A body declared over the limit is refused before it is read.
    const huge = await declaredBody(a, 33 << 20);
    expect([huge.status, huge.error]).toEqual([413, 'too_large']);

    const items = [
      { key: 'good', value: 'ok' },
      { key: '', value: 'x' },
      { key: 'k'.repeat(1025), value: 'x' },
      { key: 'dup', value: 'x' },
      { key: 'dup', value: 'y' },
      { key: 'big', value: 'x'.repeat(limit + 1) },
      { key: 'ttl', value: 'x', ttl: 'soon' },
      { key: 'ttl2', value: 'x', ttl: -5 },
      { key: 'noval' },
      { key: 'field', value: 'x', tll: 5 },
      'just a string',
      { key: 7, value: 'x' },
    ];
    const r = await post(a, { items, encoding: 'utf8' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_items');
    expect(r.body.message).toMatch(/^10 of 12 items are invalid; nothing was stored \(items\[1\]: key must not be empty\)/);
    expect(r.body.items.map((i: { index: number; error: string }) => [i.index, i.error])).toEqual([
      [1, 'bad_key'],
      [2, 'bad_key'],
      [4, 'duplicate_key'],
      [5, 'too_large'],
      [6, 'bad_ttl'],
      [7, 'bad_ttl'],
      [8, 'bad_value'],
      [9, 'bad_item'],
      [10, 'bad_item'],
      [11, 'bad_key'],
    ]);
    expect(await value(a, 'good')).toBe(404);
    expect(await value(a, 'dup')).toBe(404);
    const bad64 = await post(a, { items: [{ key: 'a', value: 'not base64!' }] });
    expect([bad64.status, bad64.body.items[0].error]).toEqual([400, 'bad_value']);
  });

  it('in a static cluster: each value on its owner; an owner that is down fails only its items (503 partial_write)', async () => {
    requireBuild();
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`;
    const common = ['--peers', peers, '--load-timeout', '1s'];
    const [a, b] = await Promise.all([start(['--id', 'a', '--grpc-port', String(pa), ...common]), start(['--id', 'b', '--grpc-port', String(pb), ...common])]);
    const ring = new Ring([{ id: 'a', grpcAddress: '' }, { id: 'b', grpcAddress: '' }]);
    const keys = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const items = keys.map((key) => ({ key, value: `v:${key}` }));
    await waitFor('b stores through a', async () => (await post(b, { items, encoding: 'utf8' })).status === 200, 15_000);
    for (const k of keys) {
      const owner = ring.ownerOfHash(ringHash(k))!.id === 'a' ? a : b;
      const res = await owner.fetch(`/v1/groups/default/keys/${k}`);
      expect([res.headers.get('x-arenacache-source'), await res.text()]).toEqual(['main', `v:${k}`]);
    }
    await a.stop('SIGTERM');
    const r = await post(b, { items: items.map((it) => ({ ...it, value: 'new' })), encoding: 'utf8' });
    const onA = keys.filter((k) => ring.ownerOfHash(ringHash(k))!.id === 'a');
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('partial_write');
    expect(r.body.stored).toBe(keys.length - onA.length);
    expect(r.body.failed.map((f: { key: string }) => f.key)).toEqual(onA);
    expect(r.body.failed.every((f: { error: string }) => f.error === 'peer_unavailable')).toBe(true);
    for (const k of keys.filter((x) => !onA.includes(x))) expect(await value(b, k)).toBe('new');
  });
});
