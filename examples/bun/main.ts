// Bun: `npm run build`, then: node_modules/.bin/bun examples/bun/main.ts
// Loads build/arenacache.wasm (and the shared build) with Bun.file, runs the sequence of
// examples/sequence.json through the generic wrapper (dist/core), shares an arena with a worker,
// times get, and prints one JSON line.
import { ArenaCache, ABI_VERSION } from '../../dist/core/index.js';
import { runAll, webWorkerChannel } from '../scenario.mjs';

const root = new URL('../../', import.meta.url);
const spec = await Bun.file(new URL('examples/sequence.json', root)).json();
const wasm = new Uint8Array(await Bun.file(new URL('build/arenacache.wasm', root)).arrayBuffer());
const sharedWasm = new Uint8Array(await Bun.file(new URL('build/arenacache.shared.wasm', root)).arrayBuffer());

const startWorker = () => webWorkerChannel(new Worker(new URL('./worker.ts', import.meta.url).href, { type: 'module' }));

const out = await runAll({ runtime: 'bun', ArenaCache, ABI_VERSION, spec, wasm, sharedWasm, startWorker });
console.log(JSON.stringify({ ...out, version: Bun.version }));
