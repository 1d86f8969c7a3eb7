/**
 * `arenacache serve` as a child process: defaults and config precedence, the key API, error
 * codes, get-many, stats/members, /metrics, and log discipline.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, NodeProc, requireBuild, runCli, scrape, startNode, stopAll, tempDir, waitFor } from './helpers.js';

const TOKEN = 'test-token-123';
const nodes: NodeProc[] = [];
const tmp = tempDir();
let node: NodeProc; // configured by a YAML file: token for writes, a small group

const auth = { authorization: `Bearer ${TOKEN}` };
const keyUrl = (group: string, key: string) => `/v1/groups/${group}/keys/${encodeURIComponent(key)}`;
const put = (path: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
  node.fetch(path, { method: 'PUT', body: body as BodyInit, headers: { ...auth, ...headers } });

async function errorOf(res: Response): Promise<{ status: number; error: string; message: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const b = (await res.json()) as { error: string; message: string };
  expect(typeof b.message).toBe('string');
  return { status: res.status, error: b.error, message: b.message };
}

beforeAll(async () => {
  requireBuild();
  const cfg = tmp.write(
    'node.yaml',
    [
      'http:',
      `  authToken: ${TOKEN}`,
      'groups:',
      '  - name: small',
      '    maxBytes: 256KiB',
      '    maxValueBytes: 1KiB',
      '    maxKeyBytes: 64',
      '',
    ].join('\n'),
  );
  node = await startNode(['--config', cfg]);
  nodes.push(node);
});

afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

describe('configuration', () => {
  it('with no flags: loopback gRPC 7070 / HTTP 7080, static membership, one plain group "default"', async () => {
    const r = await runCli(['serve', '--print-config'], { env: { ARENACACHE_CONFIG: '' } });
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout.toString()) as Record<string, any>;
    expect(c.grpc).toEqual({ host: '127.0.0.1', port: 7070, batch: { windowUs: 0, maxKeys: 256, maxBytes: 2 << 20 }, stream: true });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 7080 });
    expect(c.peers).toEqual([]);
    expect(c.etcd).toBeUndefined();
    expect(c.groups).toHaveLength(1);
    expect(c.groups[0]).toMatchObject({ name: 'default', maxBytes: 64 * 1024 * 1024, ttl: 0, origin: { type: 'none' } });
  });

  it('precedence: flag > environment > config file > default', async () => {
    const file = tmp.write('prec.json', JSON.stringify({ http: { port: 1111 }, grpc: { port: 1112 }, logLevel: 'warn' }));
    const env = { ARENACACHE_HTTP_PORT: '2222', ARENACACHE_GRPC_PORT: '2223' };
    const all = JSON.parse((await runCli(['serve', '--print-config', '--config', file, '--http-port', '3333'], { env })).stdout.toString());
    expect([all.http.port, all.grpc.port, all.logLevel, all.http.host]).toEqual([3333, 2223, 'warn', '127.0.0.1']);
    const noEnv = JSON.parse((await runCli(['serve', '--print-config', '--config', file])).stdout.toString());
    expect([noEnv.http.port, noEnv.grpc.port]).toEqual([1111, 1112]);
    // Default-group flags patch the default group; sizes and durations take units.
    const g = JSON.parse(
      (await runCli(['serve', '--print-config', '--max-bytes', '2MiB', '--ttl', '1.5s', '--origin', 'https://example.test/{key}'])).stdout.toString(),
    ).groups[0];
    expect(g).toMatchObject({ name: 'default', maxBytes: 2 * 1024 * 1024, ttl: 1500, notFoundTtl: 1000, origin: { type: 'http', url: 'https://example.test/{key}' } });
  });

  it('bad flags and bad config exit 2 with a message', async () => {
    for (const args of [['--grpc-port', '70000'], ['--no-such-flag'], ['--max-bytes', 'lots'], ['--origin', 'ftp://x'], ['--etcd', 'http://127.0.0.1:1', '--etcd-lease-ttl', '1']]) {
      const r = await runCli(['serve', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/arenacache serve: /);
    }
    const bad = tmp.write('bad.yaml', 'groups:\n  - name: x\n    maxBytes: 1MiB\n    colour: blue\n');
    const r = await runCli(['serve', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key "colour"');
  });

  it('peer TLS and etcd TLS/auth from flags and env: paths resolved, incomplete settings exit 2', async () => {
    const f = (name: string) => tmp.write(name, 'x');
    const [cert, key, ca, pw] = [f('n.crt'), f('n.key'), f('ca.crt'), f('pw')];
    const r = await runCli(
      ['serve', '--print-config', '--tls-cert', cert, '--tls-key', key, '--tls-mutual', '--etcd', 'http://127.0.0.1:1',
        '--etcd-ca', ca, '--etcd-cert', cert, '--etcd-key', key, '--etcd-user', 'node', '--etcd-password-file', pw],
      { env: { ARENACACHE_TLS_CA: ca, ARENACACHE_TLS_SERVER_NAME: 'localhost' } },
    );
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout.toString()) as Record<string, any>;
    expect(c.grpc.tls).toEqual({ certFile: cert, keyFile: key, caFile: ca, mutual: true, serverName: 'localhost' });
    expect(c.etcd).toMatchObject({ tls: { caFile: ca, certFile: cert, keyFile: key }, username: 'node', passwordFile: pw });
    // In the config file, relative paths are relative to the file.
    const file = tmp.write('tls.yaml', 'grpc:\n  tls: { certFile: n.crt, keyFile: n.key, caFile: ca.crt, mutual: true }\n');
    const fromFile = JSON.parse((await runCli(['serve', '--print-config', '--config', file])).stdout.toString());
    expect(fromFile.grpc.tls).toEqual({ certFile: cert, keyFile: key, caFile: ca, mutual: true });
    const bad: Array<[string[], string]> = [
      [['--tls-mutual', '--tls-ca', ca], 'needs both a certificate and its key'],
      [['--tls-cert', cert, '--tls-key', key, '--tls-mutual'], 'needs --tls-ca'],
      [['--tls-cert', cert, '--tls-key', `${key}.missing`], 'cannot read'],
      [['--etcd', 'http://127.0.0.1:1', '--etcd-user', 'node'], 'without a password'],
      [['--etcd', 'http://127.0.0.1:1', '--etcd-ca', ca, '--etcd-cert', cert], 'both a certificate and its key'],
    ];
    for (const [args, message] of bad) {
      const b = await runCli(['serve', '--print-config', ...args]);
      expect([b.code, b.stderr.includes(message)], `${args.join(' ')}: ${b.stderr}`).toEqual([2, true]);
    }
  });

  it('--help documents every flag with its environment variable and default', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.toString();
    for (const f of ['config', 'grpc-port', 'http-port', 'peers', 'tls-cert', 'tls-key', 'tls-ca', 'tls-mutual', 'tls-server-name', 'etcd',
      'etcd-ca', 'etcd-cert', 'etcd-key', 'etcd-user', 'etcd-password-file', 'max-bytes', 'origin', 'auth-token', 'shutdown-timeout', 'log-level']) {
      expect(help).toContain(`--${f}`);
      expect(help).toContain(`ARENACACHE_${f.toUpperCase().replace(/-/g, '_')}`);
    }
    expect(help).toContain('(default 7070)');
    expect(help).toContain('(default 7080)');
  });
});

describe('the default node', () => {
  it('answers over HTTP: healthz, readyz, PUT then GET returns the bytes, DELETE', async () => {
    // Only the ports are changed (to free ones): everything else is the no-flag default.
    const d = await startNode([], { ARENACACHE_GRPC_PORT: '0', ARENACACHE_HTTP_PORT: '0' });
    nodes.push(d);
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await d.fetch('/healthz')).status).toBe(200);
    expect(await (await d.fetch('/readyz')).json()).toMatchObject({ ready: true });
    const members = (await (await d.fetch('/v1/members')).json()) as { mode: string; members: { id: string }[] };
    expect(members.mode).toBe('static');
    expect(members.members.map((m) => m.id)).toEqual([d.id]);

    const value = randomBytes(3000);
    value[0] = 0;
    value[1] = 0xff;
    const path = keyUrl('default', 'dir/key with spaces/ü');
    expect((await d.fetch(path, { method: 'PUT', body: value })).status).toBe(204);
    const got = await d.fetch(path);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await got.arrayBuffer()).equals(value)).toBe(true);
    const head = await d.fetch(path, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, '3000']);
    // A plain cache: what was never set is not found.
    expect((await errorOf(await d.fetch(keyUrl('default', 'never-set')))).error).toBe('not_found');
    expect((await d.fetch(path, { method: 'DELETE' })).status).toBe(204);
    expect((await d.fetch(path)).status).toBe(404);
    expect((await d.fetch(path, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('key API', () => {
  it('PUT takes a TTL from the header or the query; the value expires', async () => {
    expect((await put(keyUrl('default', 'ttl-h'), 'a', { 'x-arenacache-ttl': '1s' })).status).toBe(204);
    expect((await put(keyUrl('default', 'ttl-q') + '?ttl=1000', 'b')).status).toBe(204);
    expect((await put(keyUrl('default', 'no-ttl'), 'c')).status).toBe(204);
    expect((await node.fetch(keyUrl('default', 'ttl-h'))).status).toBe(200);
    await waitFor(
      'both TTL keys expire',
      async () => (await node.fetch(keyUrl('default', 'ttl-h'))).status === 404 && (await node.fetch(keyUrl('default', 'ttl-q'))).status === 404,
      5000,
    );
    expect(await (await node.fetch(keyUrl('default', 'no-ttl'))).text()).toBe('c');
  });

  it('a 64 MiB group takes values up to what one cache segment holds: /v1/stats and the 413 name that limit', async () => {
    const s = (await (await node.fetch('/v1/stats')).json()) as { groups: { default: { config: { maxBytes: number; maxValueBytes: number } } } };
    const { maxBytes, maxValueBytes: limit } = s.groups.default.config;
    expect(maxBytes).toBe(64 * 1024 * 1024);
    // 56 MiB main cache in 16 segments of 3.5 MiB; after its index, s3fifo (the default) gives 80%
    // of a segment's storage to its main queue, which must hold an entry (value + tag byte + key +
    // header).
    expect(limit).toBeLessThan(3.5 * 0.8 * 1024 * 1024);
    expect(limit).toBeGreaterThan(2.25 * 1024 * 1024);
    const path = keyUrl('default', 'largest');
    expect((await put(path, new Uint8Array(limit))).status).toBe(204);
    expect((await node.fetch(path, { method: 'HEAD' })).headers.get('content-length')).toBe(String(limit));
    const over = await errorOf(await put(path, new Uint8Array(limit + 1)));
    expect(over).toMatchObject({ status: 413, error: 'too_large' });
    expect(over.message).toContain(`(${limit} bytes)`);
    expect((await put(path, 'small again')).status).toBe(204);
  });

  it('writes need the bearer token; reads do not', async () => {
    const path = keyUrl('default', 'guarded');
    const noAuth = await node.fetch(path, { method: 'PUT', body: 'x' });
    expect(await errorOf(noAuth)).toMatchObject({ status: 401, error: 'unauthorized' });
    expect(noAuth.headers.get('www-authenticate')).toBe('Bearer');
    expect((await errorOf(await node.fetch(path, { method: 'PUT', body: 'x', headers: { authorization: 'Bearer wrong' } }))).status).toBe(401);
    expect((await errorOf(await node.fetch(path, { method: 'DELETE' }))).status).toBe(401);
    expect((await put(path, 'x')).status).toBe(204);
    expect(await (await node.fetch(path)).text()).toBe('x');
  });

  it('bad requests get the documented status and JSON error', async () => {
    const cases: Array<[string, Promise<Response>, number, string]> = [
      ['bad group name', node.fetch('/v1/groups/b%40d/keys/k'), 400, 'bad_group'],
      ['unknown group', node.fetch('/v1/groups/nope/keys/k'), 404, 'unknown_group'],
      ['empty key', node.fetch('/v1/groups/default/keys/'), 400, 'bad_key'],
      ['undecodable key', node.fetch('/v1/groups/default/keys/%FF%FE'), 400, 'bad_key'],
      ['key over the group limit', node.fetch(keyUrl('small', 'k'.repeat(65))), 400, 'bad_key'],
      ['key over the default limit', node.fetch(keyUrl('default', 'k'.repeat(1025))), 400, 'bad_key'],
      ['bad ttl', put(keyUrl('default', 'k'), 'v', { 'x-arenacache-ttl': 'soon' }), 400, 'bad_ttl'],
      ['value too large', put(keyUrl('small', 'big'), new Uint8Array(1025)), 413, 'too_large'],
      ['unknown route', node.fetch('/v2/whatever'), 404, 'no_route'],
      ['wrong method', node.fetch(keyUrl('default', 'k'), { method: 'POST', body: 'x' }), 405, 'method_not_allowed'],
      ['get-many: bad JSON', node.fetch('/v1/groups/default/get-many', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } }), 400, 'bad_body'],
      ['get-many: media type', node.fetch('/v1/groups/default/get-many', { method: 'POST', body: 'a', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
      ['get-many: bad key', node.fetch('/v1/groups/default/get-many', { method: 'POST', body: '{"keys":["ok",""]}', headers: { 'content-type': 'application/json' } }), 400, 'bad_key'],
    ];
    for (const [what, p, status, error] of cases) {
      const res = await p;
      expect(await errorOf(res), what).toMatchObject({ status, error });
    }
    // The limits themselves are accepted.
    expect((await put(keyUrl('small', 'k'.repeat(64)), new Uint8Array(1024))).status).toBe(204);
    expect((await put(keyUrl('default', 'k'.repeat(1024)), 'v')).status).toBe(204);
    expect((await node.fetch(keyUrl('default', 'k'.repeat(1024)))).status).toBe(200);
    expect((await node.fetch(keyUrl('default', 'k'), { method: 'POST', body: 'x' })).headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
  });

  it('get-many: JSON and length-prefixed binary batches', async () => {
    await put(keyUrl('default', 'm1'), 'one');
    await put(keyUrl('default', 'm2'), new Uint8Array([0, 1, 2, 255]));
    const json = await node.fetch('/v1/groups/default/get-many', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: ['m1', 'm2', 'm-missing'] }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({
      results: [
        { key: 'm1', found: true, value: Buffer.from('one').toString('base64') },
        { key: 'm2', found: true, value: Buffer.from([0, 1, 2, 255]).toString('base64') },
        { key: 'm-missing', found: false },
      ],
    });
    const utf8 = await node.fetch('/v1/groups/default/get-many', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: ['m1'], encoding: 'utf8' }),
    });
    expect(await utf8.json()).toEqual({ results: [{ key: 'm1', found: true, value: 'one' }] });

    const lengthPrefixed = (k: string) => {
      const b = Buffer.from(k);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length);
      return [h, b];
    };
    const req = Buffer.concat(['m1', 'm-missing', 'm2'].flatMap(lengthPrefixed));
    const bin = await node.fetch('/v1/groups/default/get-many', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: req });
    expect(bin.status).toBe(200);
    const out = Buffer.from(await bin.arrayBuffer());
    const parsed: Array<Buffer | null> = [];
    for (let at = 0; at < out.length; ) {
      const n = out.readInt32BE(at);
      at += 4;
      if (n < 0) parsed.push(null);
      else {
        parsed.push(out.subarray(at, at + n));
        at += n;
      }
    }
    expect(parsed.map((b) => (b === null ? null : [...b]))).toEqual([[...Buffer.from('one')], null, [0, 1, 2, 255]]);
  });
});

describe('observability', () => {
  it('/v1/stats has per-group and per-segment numbers; /v1/members lists the ring', async () => {
    const s = (await (await node.fetch('/v1/stats')).json()) as Record<string, any>;
    expect(s.node).toMatchObject({ id: node.id, grpcAddress: node.grpcAddress, ready: true });
    expect(Object.keys(s.groups).sort()).toEqual(['default', 'small']);
    const small = s.groups.small;
    expect(small.config).toMatchObject({ maxBytes: 256 * 1024, maxValueBytes: 1024, maxKeyBytes: 64 });
    expect(small.main.segments.length).toBeGreaterThanOrEqual(1);
    expect(small.main.segments[0]).toHaveProperty('evictions');
    expect(s.config.http.authToken).toBe('<redacted>');
    const m = (await (await node.fetch('/v1/members')).json()) as Record<string, any>;
    expect(m).toMatchObject({ self: node.id, mode: 'static', ringSize: 160 });
    expect(m.members).toEqual([expect.objectContaining({ id: node.id, grpcAddress: node.grpcAddress, self: true })]);
  });

  it('/metrics parses as Prometheus text and counts what was done', async () => {
    const before = await scrape(node);
    const g = { group: 'small' };
    const base = (name: string, labels: Record<string, string> = g) => metric(before, name, labels) ?? 0;
    const puts0 = base('arenacache_http_request_duration_seconds_count', { method: 'PUT', route: '/v1/groups/:group/keys/:key', code: '204' });
    const [sets0, hits0, misses0, gets0] = [base('arenacache_sets_total'), base('arenacache_hits_total', { ...g, cache: 'main' }), base('arenacache_misses_total'), base('arenacache_gets_total')];

    for (let i = 0; i < 3; i++) expect((await put(keyUrl('small', `mx${i}`), `v${i}`)).status).toBe(204);
    for (let i = 0; i < 5; i++) expect((await node.fetch(keyUrl('small', `mx${i % 3}`))).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await node.fetch(keyUrl('small', `absent${i}`))).status).toBe(404);

    const after = await scrape(node);
    const now = (name: string, labels: Record<string, string> = g) => metric(after, name, labels);
    expect(now('arenacache_sets_total')! - sets0).toBe(3);
    expect(now('arenacache_hits_total', { ...g, cache: 'main' })! - hits0).toBe(5);
    expect(now('arenacache_misses_total')! - misses0).toBe(2);
    expect(now('arenacache_gets_total')! - gets0).toBe(7);
    expect(now('arenacache_http_request_duration_seconds_count', { method: 'PUT', route: '/v1/groups/:group/keys/:key', code: '204' })! - puts0).toBe(3);
    expect(now('arenacache_entries', { ...g, cache: 'main' })).toBeGreaterThanOrEqual(3);
    expect(now('arenacache_bytes', { ...g, cache: 'main' })).toBeGreaterThan(0);
    expect(now('arenacache_budget_bytes', { ...g, cache: 'main' })).toBeGreaterThan(0);
    for (const name of ['arenacache_evictions_total', 'arenacache_expirations_total', 'arenacache_loads_total', 'arenacache_peer_fetches_total', 'arenacache_coalesced_total']) {
      expect(now(name), name).toBeTypeOf('number');
    }
    expect(now('arenacache_batch_size_count')).toBe(0);
    expect(now('arenacache_members', {})).toBe(1);
    expect(now('arenacache_ready', {})).toBe(1);
    // Static membership: no etcd series.
    expect(now('arenacache_etcd_lease_state', { state: 'granted' })).toBeUndefined();
  });

  it('logs are JSON lines with levels, and requests add no info line', async () => {
    expect(node.logs.every((l) => typeof l.level === 'string' && typeof l.msg === 'string')).toBe(true);
    expect(node.logs.some((l) => l.msg === 'ready' && l.level === 'info')).toBe(true);
    const infoBefore = node.logs.filter((l) => l.level === 'info').length;
    for (let i = 0; i < 30; i++) await node.fetch(keyUrl('default', `quiet${i % 3}`));
    await put(keyUrl('default', 'quiet'), 'x');
    await node.fetch('/metrics');
    const stats = await node.fetch('/v1/stats');
    expect(stats.status).toBe(200);
    await stats.arrayBuffer();
    await node.logBarrier(); // every line logged before it has arrived; it adds one info line itself
    expect(node.logs.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      ...node.logs.filter((l) => l.level === 'info').slice(0, infoBefore).map((l) => l.msg),
      'configuration reloaded',
    ]);
  });
});
