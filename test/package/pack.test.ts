/**
 * What `npm pack` would publish: a LICENSE matching package.json, no source map pointing at a file
 * that is not in the package, and no script that runs when a consumer installs it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, requireBuild } from '../node/helpers.js';

interface PackFile {
  path: string;
}

describe('npm pack', () => {
  requireBuild();
  // --ignore-scripts: dist/ is built already (npm test's pretest); prepack would build it again.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
  const files = new Set((JSON.parse(out) as { files: PackFile[] }[])[0]!.files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { license: string; scripts: Record<string, string> };

  it('ships an MIT LICENSE, as package.json says', () => {
    expect(pkg.license).toBe('MIT');
    expect(files.has('LICENSE')).toBe(true);
    expect(readFileSync(join(REPO, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('every source map in the package points at sources that are in the package', () => {
    const maps = [...files].filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(REPO, m), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) {
        const p = normalize(join(dirname(m), map.sourceRoot ?? '', s));
        if (!files.has(p)) missing.push(`${m} → ${p}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runs nothing on a consumer\'s install (no install or prepare scripts): the build runs at prepack', () => {
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined();
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(files.has('dist/node/cli.js')).toBe(true);
    expect(files.has('build/arenacache.wasm')).toBe(true);
  });
});
