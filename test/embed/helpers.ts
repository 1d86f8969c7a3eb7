// Shared pieces of the embedding tests: locating runtimes (failing with install instructions when
// one is missing: nothing is skipped), running an example and parsing its JSON line, the in-process
// Node reference run of examples/sequence.json, and the checks every runtime's output must pass.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const path = (...parts: string[]) => join(ROOT, ...parts);

export const RELEASE_WASM = path('build/arenacache.wasm');
export const SHARED_WASM = path('build/arenacache.shared.wasm');
export const DIST_CORE = path('dist/core/index.js');

export interface Spec {
  config: Record<string, number | boolean>;
  ops: { op: string; expect?: unknown; [k: string]: unknown }[];
}

export interface RuntimeOutput {
  runtime: string;
  abi: number;
  sequence: { results: unknown[]; header: Record<string, number> };
  shared?: Record<string, unknown>;
  perf: { iterations: number; nsPerGet: number; rawNsPerGet: number };
  version?: string;
}

export const spec: Spec = JSON.parse(readFileSync(path('examples/sequence.json'), 'utf8'));

/** Throws (failing the test) unless `npm run build` has produced the wasm builds and dist/core. */
export function requireBuild(): void {
  for (const f of [RELEASE_WASM, SHARED_WASM, DIST_CORE]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first (build:wasm + build:ts)`);
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable named `name` in node_modules/.bin, then PATH; else fails with `install`. */
export function findTool(name: string, install: string, extraCandidates: string[] = []): string {
  const candidates = [
    ...extraCandidates,
    path('node_modules/.bin', name),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name)),
  ];
  const found = candidates.find(executable);
  if (!found) throw new Error(`${name} is not installed (looked in ${candidates.slice(0, 3).join(', ')}, PATH). Install it: ${install}`);
  return found;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its stderr when it fails or times out. */
export function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${file} ${args.join(' ')} failed (${error.message.split('\n')[0]}):\n${stderr}\n${stdout.slice(0, 2000)}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/** The JSON object an example printed as its last non-empty stdout line. */
export function parseOutput(stdout: string, what: string): RuntimeOutput {
  const line = stdout.trim().split('\n').filter(Boolean).pop();
  if (!line) throw new Error(`${what} printed nothing`);
  try {
    return JSON.parse(line) as RuntimeOutput;
  } catch {
    throw new Error(`${what} did not print a JSON line; last line: ${line.slice(0, 500)}`);
  }
}

let reference: Promise<RuntimeOutput['sequence']> | undefined;

/** The sequence run in this Node process through dist/core: what every runtime must reproduce. */
export function nodeReference(): Promise<RuntimeOutput['sequence']> {
  reference ??= (async () => {
    requireBuild();
    const { ArenaCache } = await import(DIST_CORE);
    const { runSequence } = await import(path('examples/scenario.mjs'));
    return runSequence(ArenaCache, spec, readFileSync(RELEASE_WASM));
  })();
  return reference;
}

/** Every op with an `expect` in sequence.json got exactly that result. */
export function checkExpectations(results: unknown[]): void {
  expect(results).toHaveLength(spec.ops.length);
  spec.ops.forEach((op, i) => {
    if ('expect' in op) expect(results[i], `op ${i} (${JSON.stringify(op).slice(0, 120)})`).toEqual(op.expect);
  });
}

/** The expected outcome of the two-thread shared-arena scenario (examples/scenario.mjs runShared). */
export function expectedShared(keys = 20_000): Record<string, unknown> {
  return {
    workerSlot: 1,
    workerSawHello: 'from main',
    mainSawWorkerKeys: keys,
    workerSawMainKeys: keys,
    entries: 2 * keys + 1,
    reattachedSlot: 1,
    integrity: 'ok',
  };
}

/** The checks every runtime's output passes: ABI, identical sequence results, perf reported. */
export async function checkRuntimeOutput(out: RuntimeOutput, runtime: string, opts: { shared: boolean }): Promise<void> {
  const ref = await nodeReference();
  expect(out.runtime).toBe(runtime);
  expect(out.abi).toBe(2);
  // The same operations give the same results (and the same derived layout) as Node.
  expect(out.sequence.header).toEqual(ref.header);
  out.sequence.results.forEach((r, i) => {
    expect(r, `${runtime}: result of op ${i} ${JSON.stringify(spec.ops[i]).slice(0, 100)}`).toEqual(ref.results[i]);
  });
  expect(out.sequence.results).toHaveLength(ref.results.length);
  checkExpectations(out.sequence.results);
  if (opts.shared) expect(out.shared).toEqual(expectedShared());
  expect(out.perf.iterations).toBe(200_000);
  expect(out.perf.nsPerGet).toBeGreaterThan(0);
  expect(out.perf.rawNsPerGet).toBeGreaterThan(0);
  // Informational: the per-call cost of a get in this runtime (never asserted).
  const how = runtime === 'c' ? 'host get (key in, value copied out)' : 'ArenaCache.get';
  console.log(`[embed] ${runtime}${out.version ? ` (${out.version.slice(0, 60)})` : ''}: ${how} ${out.perf.nsPerGet} ns, raw ABI get ${out.perf.rawNsPerGet} ns`);
}
