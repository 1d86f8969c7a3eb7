// The browser example (examples/browser/) in headless Chromium (Debian's `chromium`, driven by
// playwright-core): a static server with COOP/COEP serves dist/, build/ and examples/; the page runs
// the sequence, the shared arena with a module worker, and the get timing, and publishes its result
// as window.__arenacache, which must equal the Node reference. Nothing is screenshotted.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRuntimeOutput, requireBuild, type RuntimeOutput } from './helpers.js';
import { startStaticServer } from './static-server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

describe('embedding in a browser', () => {
  it('headless Chromium runs examples/browser/ with the same results as Node', async () => {
    requireBuild();
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
    let chromium: typeof import('playwright-core').chromium;
    try {
      ({ chromium } = await import('playwright-core'));
    } catch (e) {
      throw new Error(`playwright-core is not installed: npm install (it is a devDependency) — ${String(e)}`);
    }
    const server = await startStaticServer();
    const profile = mkdtempSync(join(tmpdir(), 'arenacache-chromium-'));
    const problems: string[] = [];
    try {
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console: ${m.text()}`);
        });
        await page.goto(`${server.url}/examples/browser/`);
        await page.waitForFunction(() => (globalThis as { __arenacache?: { done?: boolean } }).__arenacache?.done === true, null, {
          timeout: 90_000,
        });
        const report = (await page.evaluate(() => (globalThis as { __arenacache?: unknown }).__arenacache)) as {
          ok: boolean;
          error?: string;
          result?: RuntimeOutput;
        };
        if (!report.ok) throw new Error(`the page failed: ${report.error}`);
        expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
        expect(await page.textContent('#status')).toBe('done');
        await checkRuntimeOutput(report.result!, 'chromium', { shared: true });
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    } finally {
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 120_000);
});
