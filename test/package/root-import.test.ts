/**
 * The package as consumers import it. The root costs what the core costs: importing 'arenacache'
 * (resolved through package.json "exports", in a fresh process) loads no gRPC, etcd, Prometheus,
 * protobuf, zod or pino module; every import the README and docs show resolves and has its names.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, requireBuild } from '../node/helpers.js';

/** Run an ES module snippet in a fresh node process inside the package (self-reference by name). */
function run(code: string): { status: number | null; stdout: string; stderr: string } {
  requireBuild();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HEAVY = ['@grpc/grpc-js', '@grpc/proto-loader', 'etcd3', 'prom-client', 'protobufjs', 'zod', 'pino', 'grpc-health-check'];

describe("import { ArenaCache } from 'arenacache'", () => {
  it('loads none of the cluster/node dependencies, and the cache works', () => {
    const r = run(`
      import { createRequire } from 'node:module';
      const { ArenaCache } = await import('arenacache');
      const cache = await ArenaCache.create({ maxBytes: 1 << 20 });
      cache.set('k', 'v');
      const value = new TextDecoder().decode(cache.get('k'));
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ value, loaded }));
    `);
    expect(r.status, r.stderr).toBe(0);
    const { value, loaded } = JSON.parse(r.stdout) as { value: string; loaded: string[] };
    expect(value).toBe('v');
    const heavy = loaded.filter((f) => HEAVY.some((p) => f.includes(`/node_modules/${p}/`)));
    expect(heavy).toEqual([]);
  });

  it('the subpaths load what they are for', () => {
    const r = run(`
      import { createRequire } from 'node:module';
      await import('arenacache/cluster');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.some((f) => f.includes('/node_modules/@grpc/grpc-js/'))));
    `);
    expect([r.status, r.stdout.trim()], r.stderr).toEqual([0, 'true']);
  });
});

describe('the imports the README and docs show', () => {
  const texts = ['README.md', 'docs/threads.md', 'docs/cluster.md', 'docs/discovery.md', 'docs/node.md'].map((f) => readFileSync(join(REPO, f), 'utf8'));
  const imports = new Map<string, Set<string>>();
  for (const t of texts) {
    for (const m of t.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(arenacache(?:\/[a-z-]+)?)'/g)) {
      const names = imports.get(m[2]!) ?? new Set<string>();
      for (const n of m[1]!.split(',').map((x) => x.trim().replace(/^type\s+/, '')).filter(Boolean)) names.add(n);
      imports.set(m[2]!, names);
    }
  }

  it('exist: each specifier resolves through "exports" and has every name imported from it', () => {
    expect(imports.size).toBeGreaterThanOrEqual(3);
    const spec = JSON.stringify([...imports].map(([s, n]) => [s, [...n]]));
    const r = run(`
      const missing = [];
      for (const [s, names] of ${spec}) {
        const m = await import(s);
        for (const n of names) if (!(n in m)) missing.push(s + ': ' + n);
      }
      console.log(JSON.stringify(missing));
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
