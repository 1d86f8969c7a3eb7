// Node: the reference run. `npm run build`, then: node examples/node/main.mjs
// Loads build/arenacache.wasm and build/arenacache.shared.wasm explicitly, runs the shared scenario
// (examples/scenario.mjs) and prints one JSON line.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ArenaCache, ABI_VERSION } from '../../dist/core/index.js';
import { runAll } from '../scenario.mjs';

const root = new URL('../../', import.meta.url);
const spec = JSON.parse(await readFile(new URL('examples/sequence.json', root), 'utf8'));
const wasm = await readFile(new URL('build/arenacache.wasm', root));
const sharedWasm = await readFile(new URL('build/arenacache.shared.wasm', root));

function startWorker() {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url));
  const queue = [];
  const waiters = [];
  const deliver = (msg) => (waiters.length ? waiters.shift()(msg) : queue.push(msg));
  worker.on('message', deliver);
  worker.on('error', (e) => deliver({ type: 'error', message: String(e) }));
  return {
    post: (msg) => worker.postMessage(msg),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))),
    close: () => void worker.terminate(),
  };
}

const out = await runAll({ runtime: 'node', ArenaCache, ABI_VERSION, spec, wasm, sharedWasm, startWorker });
out.version = process.version;
console.log(JSON.stringify(out));
