// The shared arena outside Node: Deno and Bun (Web Workers over the runtime-agnostic core, and
// their node:worker_threads compatibility with arenacache/workers), and a browser main thread
// (Chromium, cross-origin isolated), where Atomics.wait is forbidden and lock waits spin.
// A missing runtime fails the test with the command that installs it; nothing is skipped.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const deno = join(root, 'node_modules/.bin/deno');
const bun = join(root, 'node_modules/.bin/bun');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

function requireRuntime(path: string | undefined, install: string): string {
  if (!path || !existsSync(path)) throw new Error(`runtime missing: ${path ?? 'chromium'}; install it with \`${install}\``);
  return path;
}

function runJson(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: fixtures, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

const webReport = {
  errors: [],
  integrity: true,
  withinBudget: true,
  countersAddUp: true,
};

describe('runtimes other than Node', () => {
  it('Deno: Web Workers attach to one arena through a posted handle', async () => {
    const r = await runJson(requireRuntime(deno, 'npm install'), ['run', '-A', 'web-run.mjs']);
    expect(r).toMatchObject({ ...webReport, mainCanWait: true });
    expect(r.workerOps).toBeGreaterThan(0);
  });

  it('Bun: Web Workers attach to one arena through a posted handle', async () => {
    const r = await runJson(requireRuntime(bun, 'npm install'), ['web-run.mjs']);
    expect(r).toMatchObject({ ...webReport, mainCanWait: true });
    expect(r.workerOps).toBeGreaterThan(0);
  });

  // node-compat.mjs terminates workers while the lock word names them. Node and Bun report a
  // worker's exit only once its thread has stopped, so the helper may release (Bun lets the current
  // core call finish first: nothing to recover). Deno keeps a busy worker running after terminate()
  // and 'exit': the helper does not release there, and nothing breaks.
  it('Deno: node:worker_threads with arenacache/workers, including terminate()', async () => {
    const r = await runJson(requireRuntime(deno, 'npm install'), ['run', '-A', 'node-compat.mjs']);
    expect(r).toMatchObject({ errors: [], integrity: true });
    expect(r.recoveries).toBe(0);
  });

  it('Bun: node:worker_threads with arenacache/workers, including terminate()', async () => {
    const r = await runJson(requireRuntime(bun, 'npm install'), ['node-compat.mjs']);
    expect(r).toMatchObject({ errors: [], integrity: true, lockFree: true, after: true });
  });

  it('browser: the main thread cannot block, so it spins; workers share the arena', async () => {
    requireRuntime(chromium, 'apt-get install chromium');
    const { chromium: launcher } = await import('playwright-core');
    const types: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript' };
    // SharedArrayBuffer needs cross-origin isolation: COOP + COEP on every response.
    const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    const server = createServer(async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path === '/') {
        res.writeHead(200, { ...isolation, 'content-type': 'text/html' });
        res.end(`<!doctype html><script type="module">
          import { run } from '/test/workers/fixtures/web-main.mjs';
          window.__report = run().catch((e) => ({ failed: String((e && e.stack) || e) }));
        </script>`);
        return;
      }
      const file = join(root, path);
      if (!file.startsWith(join(root, 'dist')) && !file.startsWith(join(root, 'test/workers/fixtures'))) {
        res.writeHead(404, isolation).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { ...isolation, 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404, isolation).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const r = await page.evaluate(async () => {
        const w = window as unknown as { __report: Promise<Record<string, unknown>> };
        return { isolated: crossOriginIsolated, report: await w.__report };
      });
      expect(r.isolated).toBe(true);
      expect(r.report).toMatchObject({ ...webReport, mainCanWait: false });
      expect(r.report.mainOps).toBeGreaterThan(0);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
