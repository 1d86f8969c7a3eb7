// Browser: serve the repository root with COOP/COEP headers (node test/embed/static-server.mjs) and
// open /examples/browser/. Loads build/arenacache.wasm with fetch, runs the common scenario and
// publishes the result as window.__arenacache (read by test/embed/browser.test.ts) and on the page.
import { ArenaCache, ABI_VERSION } from '../../dist/core/index.js';
import { runAll, webWorkerChannel } from '../scenario.mjs';

const root = new URL('../../', import.meta.url);
const bytes = async (path) => {
  const response = await fetch(new URL(path, root));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
};

let report;
try {
  if (!globalThis.crossOriginIsolated) {
    throw new Error('the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and ' +
      'Cross-Origin-Embedder-Policy: require-corp): shared WebAssembly memory is unavailable');
  }
  const spec = await (await fetch(new URL('examples/sequence.json', root))).json();
  const wasm = await bytes('build/arenacache.wasm');
  const sharedWasm = await bytes('build/arenacache.shared.wasm');
  const startWorker = () => webWorkerChannel(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
  // The window's main thread may not block in Atomics.wait: ArenaCache detects it and spins instead.
  const result = await runAll({ runtime: 'chromium', ArenaCache, ABI_VERSION, spec, wasm, sharedWasm, startWorker });
  result.version = navigator.userAgent;
  report = { done: true, ok: true, result };
} catch (e) {
  report = { done: true, ok: false, error: String((e && e.stack) || e) };
}
globalThis.__arenacache = report;
document.getElementById('status').textContent = report.ok ? 'done' : 'failed';
document.getElementById('out').textContent = JSON.stringify(report.ok ? report.result : report.error, null, 2);
