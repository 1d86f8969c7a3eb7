/**
 * Origins of a node started by the real CLI: an HTTP URL template (a tiny server in this test),
 * a directory of files and a JS module. Misses are filled once; not-found, errors and timeouts get
 * their documented status codes, logs and metrics.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServer, metric, NodeProc, requireBuild, scrape, startNode, stopAll, tempDir } from './helpers.js';

const tmp = tempDir();
const nodes: NodeProc[] = [];
let node: NodeProc;
let origin: Awaited<ReturnType<typeof httpServer>>;
/** Requests the origin received, by raw path. */
const hits = new Map<string, number>();
const count = (path: string) => hits.get(path) ?? 0;

beforeAll(async () => {
  requireBuild();
  origin = await httpServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, count(path) + 1);
    if (path.startsWith('/items/missing')) {
      res.statusCode = 404;
      return res.end('no');
    }
    if (path.startsWith('/items/broken')) {
      res.statusCode = 500;
      return res.end('oops');
    }
    if (path.startsWith('/items/slow')) {
      const t = setTimeout(() => res.end('too late'), 3000);
      res.once('close', () => clearTimeout(t));
      return;
    }
    // Answer after a short delay so that concurrent misses overlap.
    setTimeout(() => res.end(`origin:${decodeURIComponent(path.slice('/items/'.length))}`), 150);
  });
  mkdirSync(`${tmp.dir}/files/sub`, { recursive: true });
  tmp.write('files/hello.txt', 'hello from a file');
  tmp.write('files/sub/data.bin', new Uint8Array([9, 8, 7, 0]));
  tmp.write('secret.txt', 'outside the origin directory');
  tmp.write(
    'loader.mjs',
    [
      'let calls = 0;',
      'export async function load(key, ctx) {',
      "  if (key === 'missing') return null;",
      "  if (key === 'also-missing') return ctx.NOT_FOUND;",
      "  if (key === 'boom') throw new Error('module origin failed');",
      "  if (key === 'forgot') return undefined;",
      '  calls++;',
      '  return `${ctx.group}:${key}:${ctx.options.tag}:call${calls}`;',
      '}',
      '',
    ].join('\n'),
  );
  const cfg = tmp.write(
    'origins.yaml',
    [
      'groups:',
      '  - name: web',
      '    maxBytes: 1MiB',
      '    notFoundTtl: 1m',
      '    origin:',
      '      type: http',
      `      url: ${origin.url}/items/{key}`,
      '      timeout: 800ms',
      '  - name: files',
      '    maxBytes: 1MiB',
      '    origin: dir:files',
      '  - name: code',
      '    maxBytes: 1MiB',
      '    origin:',
      '      type: module',
      '      path: ./loader.mjs',
      '      options: { tag: T }',
      '',
    ].join('\n'),
  );
  node = await startNode(['--config', cfg]);
  nodes.push(node);
});

afterAll(async () => {
  await stopAll(nodes);
  await origin?.close();
  tmp.cleanup();
});

const get = (group: string, key: string) => node.fetch(`/v1/groups/${group}/keys/${encodeURIComponent(key)}`);

describe('HTTP origin', () => {
  it('fills a miss once: concurrent gets share one origin request, later gets hit the cache', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => get('web', 'alpha')));
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('origin:alpha');
    }
    expect(count('/items/alpha')).toBe(1);
    const again = await get('web', 'alpha');
    expect([again.status, again.headers.get('x-arenacache-source')]).toEqual([200, 'main']);
    expect(await again.text()).toBe('origin:alpha');
    expect(count('/items/alpha')).toBe(1);
    // {key} is percent-encoded into the URL.
    expect(await (await get('web', 'a b/c')).text()).toBe('origin:a b/c');
    expect(count('/items/a%20b%2Fc')).toBe(1);
  });

  it('origin 404 is a cached not-found; 5xx is 502 origin_error; too slow is 504 origin_timeout', async () => {
    const m0 = await scrape(node);
    const nf = await get('web', 'missing-1');
    expect([nf.status, ((await nf.json()) as { error: string }).error]).toEqual([404, 'not_found']);
    expect((await get('web', 'missing-1')).status).toBe(404);
    expect(count('/items/missing-1')).toBe(1); // cached for notFoundTtl

    const broken = await get('web', 'broken');
    expect([broken.status, ((await broken.json()) as { error: string }).error]).toEqual([502, 'origin_error']);

    // The origin answers after 3 s; a 504 means the 800 ms deadline answered, not the origin.
    const slow = await get('web', 'slow');
    expect([slow.status, ((await slow.json()) as { error: string }).error]).toEqual([504, 'origin_timeout']);

    const m1 = await scrape(node);
    const d = (name: string, labels: Record<string, string>) => (metric(m1, name, labels) ?? 0) - (metric(m0, name, labels) ?? 0);
    expect(d('arenacache_load_errors_total', { group: 'web', reason: 'error' })).toBe(1);
    expect(d('arenacache_load_errors_total', { group: 'web', reason: 'timeout' })).toBe(1);
    expect(d('arenacache_loads_total', { group: 'web' })).toBe(3);
    expect(d('arenacache_not_found_total', { group: 'web' })).toBe(2);
    // One log line per origin error (the barrier: every line logged before it has arrived).
    await node.logBarrier();
    expect(node.logs.filter((l) => l.msg === 'origin error' && l.group === 'web' && l.level === 'warn')).toHaveLength(1);
    expect(node.logs.filter((l) => l.msg === 'origin timed out' && l.group === 'web')).toHaveLength(1);
  });
});

describe('directory origin', () => {
  it('serves files below the directory; anything else is not found', async () => {
    const a = await get('files', 'hello.txt');
    expect([a.status, await a.text()]).toEqual([200, 'hello from a file']);
    const b = await get('files', 'sub/data.bin');
    expect([...new Uint8Array(await b.arrayBuffer())]).toEqual([9, 8, 7, 0]);
    expect((await get('files', 'nope.txt')).status).toBe(404);
    expect((await get('files', 'sub')).status).toBe(404); // a directory
    expect((await get('files', '../secret.txt')).status).toBe(404); // outside the root
    expect((await get('files', '/etc/hostname')).status).toBe(404);
  });
});

describe('module origin', () => {
  it('calls load(key, ctx) once per miss; null / ctx.NOT_FOUND are not-found; a throw is 502', async () => {
    const a = await get('code', 'k1');
    expect(await a.text()).toBe('code:k1:T:call1');
    expect(await (await get('code', 'k1')).text()).toBe('code:k1:T:call1'); // cached
    expect(await (await get('code', 'k2')).text()).toBe('code:k2:T:call2');
    expect((await get('code', 'missing')).status).toBe(404);
    expect((await get('code', 'also-missing')).status).toBe(404);
    expect((await get('code', 'boom')).status).toBe(502);
    // A forgotten return is an error, never a cached "not found".
    expect((await get('code', 'forgot')).status).toBe(502);
  });
});
