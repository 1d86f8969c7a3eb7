// Deno: `npm run build`, then: node_modules/.bin/deno run --allow-read examples/deno/main.ts
// Loads build/arenacache.wasm (and the shared build) with Deno.readFile, runs the sequence of
// examples/sequence.json through the generic wrapper (dist/core), shares an arena with a worker,
// times get, and prints one JSON line.
import { ArenaCache, ABI_VERSION } from '../../dist/core/index.js';
import { runAll, webWorkerChannel } from '../scenario.mjs';

const root = new URL('../../', import.meta.url);
const spec = JSON.parse(await Deno.readTextFile(new URL('examples/sequence.json', root)));
const wasm = await Deno.readFile(new URL('build/arenacache.wasm', root));
const sharedWasm = await Deno.readFile(new URL('build/arenacache.shared.wasm', root));

const startWorker = () => webWorkerChannel(new Worker(new URL('./worker.ts', import.meta.url).href, { type: 'module' }));

const out = await runAll({ runtime: 'deno', ArenaCache, ABI_VERSION, spec, wasm, sharedWasm, startWorker });
console.log(JSON.stringify({ ...out, version: Deno.version.deno }));
