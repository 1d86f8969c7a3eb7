// `npm start` from a fresh clone: build when dist/ or build/ is missing or older than the sources
// (the package no longer builds on install: `prepack` builds what is published, and consumers of the
// published package need neither asc nor tsc).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = ['dist/node/cli.js', 'dist/index.js', 'build/arenacache.wasm', 'build/arenacache.shared.wasm'].map((f) => join(root, f));

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const missing = outputs.filter((f) => !existsSync(f));
const oldest = missing.length ? 0 : Math.min(...outputs.map((f) => statSync(f).mtimeMs));
const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'assembly')), statSync(join(root, 'package.json')).mtimeMs);
if (missing.length > 0 || sources > oldest) {
  console.error(`arenacache: ${missing.length ? `${missing.length} build output(s) missing` : 'sources changed'}; building (npm run build)…`);
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
