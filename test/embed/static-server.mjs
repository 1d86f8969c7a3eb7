// A tiny static server for the browser example: serves the repository's dist/, build/ and
// examples/ over http://127.0.0.1 with the cross-origin isolation headers (COOP/COEP) that shared
// WebAssembly memory needs. Used by test/embed/browser.test.ts; by hand:
//   node test/embed/static-server.mjs [port]   → open http://127.0.0.1:<port>/examples/browser/
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVED = ['dist', 'build', 'examples'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** Starts the server on 127.0.0.1 (port 0 = any free port). Returns { url, close() }. */
export async function startStaticServer({ port = 0, root = ROOT } = {}) {
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    try {
      let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const rel = normalize(path).replace(/^[/\\]+/, '');
      if (!SERVED.includes(rel.split(/[/\\]/)[0]) || rel.split(sep).includes('..')) throw Object.assign(new Error(), { code: 'ENOENT' });
      const file = join(root, rel);
      if (!(await stat(file)).isFile()) throw Object.assign(new Error(), { code: 'ENOENT' });
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch (e) {
      res.writeHead(e && e.code === 'ENOENT' ? 404 : 500, headers);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: actual } = server.address();
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { url } = await startStaticServer({ port: Number(process.argv[2] ?? 8080) });
  console.log(`serving dist/, build/, examples/ with COOP/COEP at ${url}/examples/browser/`);
}
