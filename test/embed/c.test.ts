// Native C through wasm2c: Debian's wabt 1.0.32 turns the non-shared build into C, gcc links it with
// wasm2c's runtime and examples/c/host.c (a host written from docs/ABI.md against the raw exports),
// and the program's results must equal the Node reference.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRuntimeOutput, findTool, parseOutput, path, RELEASE_WASM, requireBuild, run } from './helpers.js';

const WASM2C_RUNTIME = '/usr/share/wabt/wasm2c';

describe('embedding in C through wasm2c', () => {
  let out: string;
  beforeAll(() => {
    requireBuild();
    out = mkdtempSync(join(tmpdir(), 'arenacache-c-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('wasm2c accepts the non-shared build; gcc builds examples/c/host.c; its results equal Node', async () => {
    const wasm2c = findTool('wasm2c', 'apt-get install wabt');
    const gcc = findTool('gcc', 'apt-get install gcc');
    if (!existsSync(join(WASM2C_RUNTIME, 'wasm-rt-impl.c'))) {
      throw new Error(`${WASM2C_RUNTIME}/wasm-rt-impl.c is missing: apt-get install wabt (1.0.32 ships the wasm2c runtime there)`);
    }
    const { stdout: version } = await run(wasm2c, ['--version']);
    expect(version.trim()).toMatch(/^1\.0\.\d+/);
    // The same two steps as examples/c/Makefile.
    await run(wasm2c, [RELEASE_WASM, '-n', 'arenacache', '-o', join(out, 'arenacache.c')]);
    const cflags = ['-O2', `-I${out}`, `-I${WASM2C_RUNTIME}`];
    await Promise.all([
      run(gcc, [...cflags, '-w', '-c', '-o', join(out, 'arenacache.o'), join(out, 'arenacache.c')], { timeoutMs: 120_000 }),
      run(gcc, [...cflags, '-w', '-c', '-o', join(out, 'wasm-rt-impl.o'), join(WASM2C_RUNTIME, 'wasm-rt-impl.c')]),
    ]);
    await run(gcc, [...cflags, '-Wall', '-Wextra', '-Werror', '-o', join(out, 'host'), path('examples/c/host.c'),
      join(out, 'arenacache.o'), join(out, 'wasm-rt-impl.o'), '-lm']);
    const { stdout } = await run(join(out, 'host'), [path('examples/sequence.json')]);
    await checkRuntimeOutput(parseOutput(stdout, 'c host'), 'c', { shared: false });
  });
});
