/**
 * What an operator sees of a running node: SIGHUP, an etcd that is not there at start-up, origin
 * timeouts in the log, request logs at debug, and arenacache_build_info. Real CLI processes.
 */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, NodeProc, REPO, requireBuild, scrape, startNode, stopAll, tempDir, waitFor, within } from './helpers.js';
import { ABI_VERSION } from '../../src/core/abi.js';

const nodes: NodeProc[] = [];
const tmp = tempDir('arenacache-ops-test-');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(() => requireBuild());
afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

async function start(args: string[]): Promise<NodeProc> {
  const n = await startNode(args);
  nodes.push(n);
  return n;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('SIGHUP', () => {
  it('reloads the log level from the file, lists what needs a restart, ignores an invalid file, keeps serving', async () => {
    const file = tmp.write('hup.yaml', 'logLevel: info\n');
    const n = await start(['--config', file]);
    const reloaded = () => n.logs.filter((l) => l.msg === 'configuration reloaded');

    n.signal('SIGHUP');
    await waitFor('reloaded (nothing changed)', () => reloaded().length === 1, 5000, () => n.tail());
    expect(reloaded()[0]).toMatchObject({ applied: [], logLevel: 'info' });

    tmp.write('hup.yaml', 'logLevel: debug\nshutdownTimeout: 3s\n');
    n.signal('SIGHUP');
    await waitFor('reloaded (log level)', () => reloaded().length === 2, 5000, () => n.tail());
    expect(reloaded()[1]).toMatchObject({ applied: ['logLevel'], logLevel: 'debug' });
    expect(n.logs.find((l) => l.msg === 'configuration changes that need a restart were not applied')).toMatchObject({
      needRestart: ['shutdownTimeout'],
    });
    // Debug is on now: a request is logged.
    await (await n.fetch('/healthz')).arrayBuffer();
    await waitFor('a debug request line', () => n.logs.some((l) => l.msg === 'request' && l.level === 'debug'), 5000);

    tmp.write('hup.yaml', 'logLevel: loud\n');
    n.signal('SIGHUP');
    await waitFor('the invalid file reported', () => n.logs.some((l) => l.msg.startsWith('configuration not reloaded')), 5000, () => n.tail());
    expect(JSON.stringify(n.logs.find((l) => l.msg.startsWith('configuration not reloaded')))).toContain('logLevel: expected one of');
    expect(n.exit).toBeUndefined();
    expect((await n.fetch('/readyz')).status).toBe(200);

    n.signal('SIGTERM');
    expect(await within('exit after SIGTERM', n.exited, 10_000)).toEqual({ code: 0, signal: null });
  });

  it('during start-up (before the node can reload) does not kill it: the reload happens once it can', async () => {
    const file = tmp.write('hup-early.yaml', 'logLevel: info\n');
    const n = new NodeProc(['--config', file, '--grpc-port', '0', '--http-port', '0']);
    nodes.push(n);
    // 'starting' is logged before the server modules load: the signal arrives while they do.
    await waitFor('log line "starting"', () => n.exit !== undefined || n.logs.some((l) => l.msg === 'starting'), 20_000, () => n.tail());
    n.signal('SIGHUP');
    await waitFor('ready, then reloaded', () => n.exit !== undefined || (n.logs.some((l) => l.msg === 'ready') && n.logs.some((l) => l.msg === 'configuration reloaded')), 20_000, () => n.tail());
    expect(n.exit).toBeUndefined();
    expect(n.logs.filter((l) => l.msg === 'configuration reloaded')).toHaveLength(1);
    n.signal('SIGTERM');
    expect(await within('exit after SIGTERM', n.exited, 10_000)).toEqual({ code: 0, signal: null });
  });
});

describe('--etcd pointing at nothing', () => {
  it('one warning naming the cause, periodic summaries, then exit 1 at --etcd-start-timeout without "retrying"', async () => {
    const port = await closedPort();
    const file = tmp.write('etcd-nothing.yaml', 'etcd:\n  outageSummaryMs: 700\n');
    const n = new NodeProc(['--config', file, '--etcd', `http://127.0.0.1:${port}`, '--etcd-start-timeout', '2500ms', '--grpc-port', '0', '--http-port', '0']);
    nodes.push(n);
    const exit = await within('exit at the start timeout', n.exited, 20_000);
    expect(exit.code, n.tail(20)).toBe(1);

    const etcdWarnings = n.logs.filter((l) => l.level === 'warn' && l.component === 'etcd');
    const outage = etcdWarnings.filter((l) => l.msg !== 'etcd still unreachable');
    expect(outage, JSON.stringify(etcdWarnings)).toHaveLength(1);
    expect(outage[0]!.cause).toMatch(/^connection refused/);
    const summaries = etcdWarnings.filter((l) => l.msg === 'etcd still unreachable');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries[0]!.cause).toMatch(/^connection refused/);

    const last = n.logs[n.logs.length - 1]!;
    expect(last).toMatchObject({ level: 'fatal', msg: 'start failed; exiting' });
    expect(String(last.err)).toMatch(new RegExp(`etcd not reachable within 2500 ms \\(http://127\\.0\\.0\\.1:${port}\\): connection refused`));
    expect(JSON.stringify(last)).not.toMatch(/retrying/i);
    expect(n.logs.some((l) => l.msg === 'http listening')).toBe(true); // healthz answered while it tried
  });
});

describe('origins in the log', () => {
  const deaf = () =>
    tmp.write(
      'deaf.mjs',
      "export function load(key, ctx) {\n  if (key === 'options') return JSON.stringify(ctx.options ?? 'absent');\n  return new Promise(() => {}); // never settles, ignores ctx.signal\n}\n",
    );

  it('ctx.options is {} when the config gives none', async () => {
    const n = await start(['--origin', `module:${deaf()}`]);
    const opts = await n.fetch('/v1/groups/default/keys/options');
    expect([opts.status, await opts.text()]).toEqual([200, '{}']);
  });

  it('a module origin that ignores ctx.signal (and never settles) times out with a log line', async () => {
    const n = await start(['--origin', `module:${deaf()}`, '--load-timeout', '300ms']);
    const r = await n.fetch('/v1/groups/default/keys/deaf-key');
    expect([r.status, ((await r.json()) as { error: string }).error]).toEqual([504, 'origin_timeout']);
    await waitFor('the timeout is logged', () => n.logs.some((l) => l.msg === 'origin timed out'), 5000, () => n.tail());
    expect(n.logs.find((l) => l.msg === 'origin timed out')).toMatchObject({ level: 'warn', group: 'default', key: 'deaf-key', origin: 'module', timeoutMs: 300 });
  });
});

describe('request logs at debug', () => {
  it('carry the request id (taken from x-request-id or generated, echoed back) and the key, cut to 64 characters', async () => {
    const n = await start(['--log-level', 'debug']);
    const longKey = 'k'.repeat(200);
    const given = await n.fetch(`/v1/groups/default/keys/${longKey}`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect([given.status, given.headers.get('x-request-id')]).toEqual([404, 'trace-abc-123']);
    const generated = await n.fetch('/v1/groups/default/keys/short', { headers: { 'x-request-id': 'has space' } });
    const genId = generated.headers.get('x-request-id')!;
    expect(genId).toMatch(/^[0-9a-f-]{36}$/);
    const lineOf = (id: string) => n.logs.find((l) => l.msg === 'request' && l.reqId === id);
    await waitFor('both request lines', () => lineOf('trace-abc-123') !== undefined && lineOf(genId) !== undefined, 5000, () => n.tail());
    expect(lineOf('trace-abc-123')).toMatchObject({ level: 'debug', method: 'GET', status: 404, key: `${'k'.repeat(64)}…` });
    expect(lineOf(genId)).toMatchObject({ key: 'short', status: 404 });
  });
});

describe('/metrics', () => {
  it('has arenacache_build_info{version,node,abi} = 1', async () => {
    const n = await start([]);
    const samples = await scrape(n);
    const info = samples.filter((s) => s.name === 'arenacache_build_info');
    expect(info).toHaveLength(1);
    expect(info[0]!.labels).toEqual({ version: VERSION, node: process.version, abi: String(ABI_VERSION) });
    expect(metric(samples, 'arenacache_build_info')).toBe(1);
  });
});
