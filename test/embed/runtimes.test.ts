// Node, Deno and Bun each run their example (examples/<runtime>/main.*): the operation sequence over
// build/arenacache.wasm through the generic wrapper (dist/core), a shared arena used by two
// threads, and a get timing. Each must reproduce the in-process Node reference exactly.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkExpectations, checkRuntimeOutput, findTool, nodeReference, parseOutput, path, requireBuild, run } from './helpers.js';

describe('embedding in JavaScript runtimes', () => {
  beforeAll(() => requireBuild());

  it('a missing runtime fails with install instructions (nothing is skipped)', () => {
    expect(() => findTool('arenacache-no-such-runtime', 'apt-get install arenacache-no-such-runtime')).toThrow(
      /arenacache-no-such-runtime is not installed .*Install it: apt-get install arenacache-no-such-runtime/,
    );
  });

  it('the Node reference run meets every expectation of examples/sequence.json', async () => {
    checkExpectations((await nodeReference()).results);
  });

  it('Node: examples/node/main.mjs', async () => {
    const { stdout } = await run(process.execPath, [path('examples/node/main.mjs')]);
    await checkRuntimeOutput(parseOutput(stdout, 'node example'), 'node', { shared: true });
  });

  it('Deno: examples/deno/main.ts', async () => {
    const deno = findTool('deno', '`npm install` (deno is a devDependency: the npm package `deno` ships the binary)');
    const denoDir = join(tmpdir(), 'arenacache-embed-deno');
    mkdirSync(denoDir, { recursive: true });
    const { stdout } = await run(deno, ['run', '--quiet', '--no-prompt', `--allow-read=${path()}`, path('examples/deno/main.ts')], {
      env: { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: denoDir, NO_COLOR: '1' },
    });
    await checkRuntimeOutput(parseOutput(stdout, 'deno example'), 'deno', { shared: true });
  });

  it('Bun: examples/bun/main.ts', async () => {
    const bun = findTool('bun', '`npm install` (bun is a devDependency: the npm package `bun` ships the binary)');
    const { stdout } = await run(bun, [path('examples/bun/main.ts')], { env: { NO_COLOR: '1' } });
    const out = parseOutput(stdout, 'bun example');
    await checkRuntimeOutput(out, 'bun', { shared: true });
    expect(out.version).toMatch(/^\d+\.\d+/);
  });
});
