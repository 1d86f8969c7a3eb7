/**
 * `arenacache get|set|del|stats|members` against a running node (both real CLI processes), with
 * the exit codes scripts rely on: 0 found/done, 1 not found, 2 error.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProc, requireBuild, runCli, startNode, stopAll, tempDir, waitFor } from './helpers.js';

const TOKEN = 'cli-secret';
const tmp = tempDir();
const nodes: NodeProc[] = [];
let node: NodeProc;
let env: Record<string, string>;

beforeAll(async () => {
  requireBuild();
  node = await startNode(['--auth-token', TOKEN]);
  nodes.push(node);
  env = { ARENACACHE_URL: node.url, ARENACACHE_AUTH_TOKEN: TOKEN };
});

afterAll(async () => {
  await stopAll(nodes);
  tmp.cleanup();
});

describe('client subcommands', () => {
  it('set from an argument, get prints the bytes (0), a missing key exits 1', async () => {
    expect((await runCli(['set', 'default', 'greeting', 'hello'], { env })).code).toBe(0);
    const got = await runCli(['get', 'default', 'greeting'], { env });
    expect([got.code, got.stdout.toString()]).toEqual([0, 'hello']);
    // The value is really in the node.
    expect(await (await node.fetch('/v1/groups/default/keys/greeting')).text()).toBe('hello');
    const missing = await runCli(['get', 'default', 'nobody'], { env });
    expect([missing.code, missing.stdout.length]).toEqual([1, 0]);
  });

  it('set from a file and from stdin keeps binary bytes intact; --ttl is sent', async () => {
    const bytes = randomBytes(5000);
    const file = tmp.write('value.bin', bytes);
    expect((await runCli(['set', 'default', 'from-file', '--file', file], { env })).code).toBe(0);
    const a = await runCli(['get', 'default', 'from-file'], { env });
    expect(a.stdout.equals(bytes)).toBe(true);

    const piped = randomBytes(777);
    expect((await runCli(['set', 'default', 'from-stdin'], { env, input: piped })).code).toBe(0);
    expect((await runCli(['set', 'default', 'from-dash', '-'], { env, input: piped })).code).toBe(0);
    expect((await runCli(['get', 'default', 'from-stdin'], { env })).stdout.equals(piped)).toBe(true);
    expect((await runCli(['get', 'default', 'from-dash'], { env })).stdout.equals(piped)).toBe(true);

    expect((await runCli(['set', 'default', 'short-lived', 'x', '--ttl', '300ms'], { env })).code).toBe(0);
    await waitFor('short-lived expires (300 ms TTL)', async () => (await runCli(['get', 'default', 'short-lived'], { env })).code === 1, 10_000);
  });

  it('del exits 0 when the key existed and 1 when it did not', async () => {
    await runCli(['set', 'default', 'doomed', 'x'], { env });
    expect((await runCli(['del', 'default', 'doomed'], { env })).code).toBe(0);
    expect((await runCli(['del', 'default', 'doomed'], { env })).code).toBe(1);
    expect((await runCli(['get', 'default', 'doomed'], { env })).code).toBe(1);
  });

  it('stats prints JSON; members prints the ring (table or --json)', async () => {
    const s = await runCli(['stats'], { env });
    expect(s.code).toBe(0);
    const stats = JSON.parse(s.stdout.toString()) as { node: { id: string }; groups: Record<string, { sets: number }> };
    expect(stats.node.id).toBe(node.id);
    expect(stats.groups.default!.sets).toBeGreaterThan(0);
    const m = await runCli(['members'], { env });
    expect(m.code).toBe(0);
    expect(m.stdout.toString()).toMatch(new RegExp(`^ID\\s+GRPC\\s+HTTP\\n${node.id.replace(/\./g, '\\.')}\\s+${node.grpcAddress.replace(/\./g, '\\.')}`));
    const mj = JSON.parse((await runCli(['members', '--json', '--url', node.url])).stdout.toString()) as { members: { id: string }[] };
    expect(mj.members.map((x) => x.id)).toEqual([node.id]);
  });

  it('errors exit 2: missing token, bad usage, an unknown group, an unreachable node', async () => {
    const noToken = await runCli(['set', 'default', 'k', 'v'], { env: { ARENACACHE_URL: node.url, ARENACACHE_AUTH_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('401 unauthorized');
    const withFlag = await runCli(['set', 'default', 'k', 'v', '--url', node.url, '--token', TOKEN], { env: { ARENACACHE_AUTH_TOKEN: '' } });
    expect(withFlag.code).toBe(0);

    expect((await runCli(['get', 'default'], { env })).code).toBe(2);
    expect((await runCli(['get', 'default', 'k', '--bogus'], { env })).code).toBe(2);
    expect((await runCli(['frobnicate'], { env })).code).toBe(2);
    const unknownGroup = await runCli(['get', 'nope', 'k'], { env });
    expect(unknownGroup.code).toBe(2);
    expect(unknownGroup.stderr).toContain('unknown_group');
    // A port nothing listens on (this node's gRPC port speaks HTTP/2 only; use a closed one).
    const { freePort } = await import('../helpers/etcd.js');
    const down = await runCli(['get', 'default', 'k', '--url', `http://127.0.0.1:${await freePort()}`, '--timeout', '3000']);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('cannot reach the node');
  });

  it('help and version exit 0', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['serve', 'get', 'set', 'del', 'stats', 'members']) expect(h.stdout.toString()).toContain(`arenacache ${c}`);
    expect((await runCli(['--version'])).stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await runCli(['get', '--help'])).code).toBe(0);
  });
});
