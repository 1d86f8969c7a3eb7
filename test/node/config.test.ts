/**
 * The configuration schema through the real CLI (`serve --print-config` / `--print-config-schema`,
 * which validate everything and exit without listening), and the schema's derived tables in process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/cluster/cluster.js';
import { InvalidArgumentError } from '../../src/cluster/errors.js';
import { SERVE_FLAGS } from '../../src/node/config/index.js';
import { NodeProc, REPO, requireBuild, runCli, tempDir } from './helpers.js';

const tmp = tempDir('arenacache-config-test-');
afterAll(() => tmp.cleanup());
requireBuild();

const printConfig = (args: string[], env: Record<string, string> = {}) => runCli(['serve', '--print-config', ...args], { env });

describe('unknown keys are errors at every level, with the path and the nearest valid name', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['top level', { logLevl: 'debug' }, 'logLevl', 'logLevel'],
    ['http', { http: { prot: 19081 } }, 'http.prot', 'port'],
    ['grpc', { grpc: { hots: '0.0.0.0' } }, 'grpc.hots', 'host'],
    ['grpc.tls', { grpc: { tls: { certfile: 'a' } } }, 'grpc.tls.certfile', 'certFile'],
    ['grpc.batch', { grpc: { batch: { maxkeys: 8 } } }, 'grpc.batch.maxkeys', 'maxKeys'],
    ['etcd', { etcd: { endpoints: ['http://127.0.0.1:1'], leaseTTL: 5 } }, 'etcd.leaseTTL', 'leaseTtlSeconds'],
    ['etcd.tls', { etcd: { endpoints: ['http://127.0.0.1:1'], tls: { caFil: 'x' } } }, 'etcd.tls.caFil', 'caFile'],
    ['a group in a list', { groups: [{ name: 'g', maxByte: '1MiB' }] }, 'groups[0].maxByte', 'maxBytes'],
    ['a group in a map', { groups: { g: { tll: '1s' } } }, 'groups.g.tll', 'ttl'],
    ['an origin', { groups: { g: { origin: { type: 'http', url: 'http://o/{key}', timout: '5s' } } } }, 'groups.g.origin.timout', 'timeout'],
  ];
  for (const [where, config, path, nearest] of cases) {
    it(where, async () => {
      const file = tmp.write(`unknown-${where.replace(/\W/g, '_')}.json`, JSON.stringify(config));
      const r = await printConfig(['--config', file]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${path}: unknown key`);
      expect(r.stderr).toContain(`did you mean "${nearest}"?`);
      expect(r.stdout.length).toBe(0);
    });
  }

  it('several problems are all reported, each with where it came from', async () => {
    const file = tmp.write('many.yaml', 'http:\n  port: 99999\ngroups:\n  g:\n    ttl: soon\n');
    const r = await printConfig(['--config', file, '--max-bytes', 'lots']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/http\.port: expected a port in 0\.\.65535, got 99999/);
    expect(r.stderr).toMatch(/groups\.g\.ttl: expected a duration/);
    expect(r.stderr).toMatch(/--max-bytes: expected a size/);
  });
});

describe('environment', () => {
  it('an unknown ARENACACHE_* variable is an error naming it and the nearest variable', async () => {
    const r = await printConfig([], { ARENACACHE_HTTP_PROT: '19081' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown environment variable ARENACACHE_HTTP_PROT (did you mean "ARENACACHE_HTTP_PORT"?)');
  });

  it("the client commands' variables are accepted (they are often exported in the same shell)", async () => {
    const r = await printConfig([], { ARENACACHE_URL: 'http://127.0.0.1:1', ARENACACHE_TIMEOUT: '5' });
    expect(r.code, r.stderr).toBe(0);
  });

  it('a bad value names its variable', async () => {
    const r = await printConfig([], { ARENACACHE_SHUTDOWN_TIMEOUT: 'forever' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ARENACACHE_SHUTDOWN_TIMEOUT: expected a duration');
  });
});

describe('origins', () => {
  it('an http origin without {key} (or {path}) is rejected, from a flag and from the file', async () => {
    const flag = await printConfig(['--origin', 'http://x/a']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--origin: url must contain {key}');
    const file = tmp.write('nokey.yaml', 'groups:\n  g:\n    origin: { type: http, url: "https://api/items" }\n');
    const r = await printConfig(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('groups.g.origin.url: url must contain {key}');
    expect((await printConfig(['--origin', 'https://api/items/{path}'])).code).toBe(0);
  });

  it('a missing module or directory origin is a configuration error (exit 2)', async () => {
    for (const origin of ['module:./no-such-loader.mjs', 'dir:./no-such-dir']) {
      const r = await printConfig(['--origin', origin]);
      expect(r.code, origin).toBe(2);
      expect(r.stderr).toMatch(/cannot read .*no-such-(loader\.mjs|dir): ENOENT/);
    }
  });

  it('a module origin that cannot be used is reported before anything listens', async () => {
    const noLoad = tmp.write('no-load.mjs', 'export const notLoad = 1;\n');
    const broken = tmp.write('broken.mjs', 'export function load( {\n');
    for (const file of [noLoad, broken]) {
      const n = new NodeProc(['--origin', `module:${file}`, '--http-port', '0', '--grpc-port', '0']);
      const exit = await n.exited;
      expect(exit.code, n.stderr + n.tail()).toBe(2);
      expect(n.logs.map((l) => l.msg)).not.toContain('http listening');
      expect(JSON.stringify(n.logs) + n.stderr).toMatch(/origin module .*(export a function load|cannot import)/);
    }
  });

  it('an etcd section without endpoints is refused rather than ignored', async () => {
    const r = await printConfig(['--etcd-user', 'node']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('etcd.username is set but no etcd endpoints are');
  });
});

describe('one schema, everything derived from it', () => {
  it('group rules have one home: the library and the config file give the same message', async () => {
    const cluster = new Cluster({ self: { id: 'solo' } });
    let libraryMessage = '';
    try {
      cluster.group('g', { maxBytes: 1 << 20, load: () => 'x', hotCacheFraction: 0.9 });
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      libraryMessage = (err as Error).message;
    }
    await cluster.close();
    const file = tmp.write('frac.yaml', 'groups:\n  g:\n    hotCacheFraction: 0.9\n');
    const r = await printConfig(['--config', file]);
    expect(r.code).toBe(2);
    expect(libraryMessage).toContain('hotCacheFraction must be in 0..0.5');
    expect(r.stderr).toContain('groups.g.hotCacheFraction: must be in 0..0.5');
  });

  it('batch rules have one home: the transport and the config give the same message; good values reach the config', async () => {
    const { grpcTransport } = await import('../../src/transport/index.js');
    expect(() => grpcTransport({ batch: { maxKeys: 5000 } })).toThrow(InvalidArgumentError);
    expect(() => grpcTransport({ batch: { maxKeys: 5000 } })).toThrow('batch.maxKeys must be in 1..4096');
    expect(() => grpcTransport({ batch: { windowUs: -1 } })).toThrow('batch.windowUs must be in 0..1000000 µs (got -1)');
    expect(() => grpcTransport({ batch: { maxKeys: 8, windw: 3 } as never })).toThrow('batch.windw is not a batch option');
    const bad = await printConfig(['--batch-max-keys', '5000', '--batch-window-us', '2000000', '--batch-max-bytes', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--batch-max-keys: must be in 1..4096');
    expect(bad.stderr).toContain('--batch-window-us: must be in 0..1000000 µs');
    expect(bad.stderr).toContain('--batch-max-bytes: must be at least 1');
    const file = tmp.write('batch.yaml', 'grpc:\n  stream: false\n  batch: { maxBytes: 4MiB }\n');
    const ok = await printConfig(['--config', file, '--batch-window-us', '150', '--batch-max-keys', '64'], { ARENACACHE_BATCH_MAX_KEYS: '32' });
    expect(ok.code, ok.stderr).toBe(0);
    const c = JSON.parse(ok.stdout.toString()) as { grpc: Record<string, unknown> };
    expect([c.grpc.batch, c.grpc.stream]).toEqual([{ windowUs: 150, maxKeys: 64, maxBytes: 4 << 20 }, false]);
  });

  it('--help lists exactly the flag table, each flag with its ARENACACHE_* variable', async () => {
    const help = (await runCli(['serve', '--help'])).stdout.toString();
    const inHelp = [...help.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]);
    expect(inHelp).toEqual([...SERVE_FLAGS.map((f) => f.name), 'print-config', 'print-config-schema', 'help'].filter((n) => n !== 'help'));
    for (const f of SERVE_FLAGS) {
      expect(f.env).toBe(`ARENACACHE_${f.name.toUpperCase().replace(/-/g, '_')}`);
      expect(help).toContain(`env ${f.env}`);
    }
  });

  it("docs/node.md's flag table has exactly the CLI's flags", () => {
    const doc = readFileSync(join(REPO, 'docs/node.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `--([a-z0-9-]+)[^`]*` \| `(ARENACACHE_[A-Z0-9_]+)`/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(rows.sort()).toEqual(SERVE_FLAGS.map((f) => `${f.name} ${f.env}`).sort());
  });

  it('--print-config-schema is a JSON Schema with every flag path in it and no open object', async () => {
    const r = await runCli(['serve', '--print-config-schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout.toString()) as Record<string, any>;
    expect(schema.$schema).toMatch(/json-schema\.org/);
    const group = schema.properties.groups.anyOf[0].items;
    for (const f of SERVE_FLAGS.filter((x) => x.path !== '')) {
      let node: any = f.path.startsWith('group.') ? group : schema;
      for (const part of f.path.replace(/^group\./, '').split('.')) {
        node = node.properties?.[part] ?? node.anyOf?.find((x: any) => x.properties?.[part])?.properties[part];
        expect(node, `--${f.name} → ${f.path}`).toBeDefined();
      }
      expect(node.description, f.path).toBe(f.help);
    }
    const open: string[] = [];
    const visit = (n: any, at: string): void => {
      if (!n || typeof n !== 'object') return;
      if (n.type === 'object' && n.properties && n.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(n)) visit(v, `${at}/${k}`);
    };
    visit(schema, '#');
    expect(open).toEqual([]);
    // A file that names the schema (as editors want) is accepted.
    const file = tmp.write('with-schema.json', JSON.stringify({ $schema: './arenacache.schema.json', http: { port: 0 } }));
    expect((await printConfig(['--config', file])).code).toBe(0);
  });
});
