// A built copy of an earlier arenacache commit, for "before vs after" rows (the cluster section
// runs its old peer path beside the current one, in the same rounds).
//
// ARENACACHE_BENCH_BASELINE picks it: a git ref (default: the section's own), a directory holding
// a built checkout (its dist/ is used as it is), or `none`. A ref is exported with `git archive`
// into bench/.baseline/<sha>/ (ignored by git), given this checkout's node_modules (a symlink: the
// dependencies must match, which holds for the refs the sections name) and built once with
// `npm run build`; later runs reuse it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** `{ ok: true, root, label }` (root: a directory with a built dist/) or `{ ok: false, reason }`. */
export function baselineBuild(defaultRef, onProgress = () => {}) {
  const want = process.env.ARENACACHE_BENCH_BASELINE ?? defaultRef;
  if (want === 'none') return { ok: false, reason: 'ARENACACHE_BENCH_BASELINE=none' };
  if (existsSync(want) && existsSync(join(want, 'dist/node/cli.js'))) return { ok: true, root: resolve(want), label: resolve(want) };
  let sha;
  try {
    sha = execFileSync('git', ['-C', REPO, 'rev-parse', '--verify', `${want}^{commit}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return { ok: false, reason: `${want} is neither a built checkout nor a git commit of ${REPO}` };
  }
  const root = join(REPO, 'bench/.baseline', sha.slice(0, 12));
  const label = `${want} (${sha.slice(0, 7)})`;
  if (existsSync(join(root, 'dist/node/cli.js')) && existsSync(join(root, 'build/arenacache.wasm'))) return { ok: true, root, label };
  onProgress(`building the baseline ${label} in ${root}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git -C "${REPO}" archive ${sha} | tar -x -C "${root}"`], { encoding: 'utf8' });
  if (archive.status !== 0) return { ok: false, reason: `git archive ${sha} failed: ${archive.stderr.trim()}` };
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  if (build.status !== 0) {
    const tail = `${build.stdout}\n${build.stderr}`.trim().split('\n').slice(-5).join(' | ');
    rmSync(root, { recursive: true, force: true });
    return { ok: false, reason: `building ${label} failed: ${tail}` };
  }
  return { ok: true, root, label };
}
