/**
 * Compile src/discovery (and what it imports) with tsc into a temporary directory, so that a plain
 * `.mjs` child process (test/helpers/etcd-node-child.mjs) can run the real EtcdMembership as a
 * separate node process. The temp dir gets a `node_modules` symlink to the repo's, so `etcd3`
 * resolves, and a package.json with `"type": "module"`. Delete it with `cleanup()`.
 *
 * Until the node CLI exists, this is how the discovery tests get "nodes as child processes".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CHILD_SCRIPT = join(REPO_ROOT, 'test/helpers/etcd-node-child.mjs');

export interface DiscoveryBuild {
  /** Absolute path of the compiled `discovery/index.js`. */
  modulePath: string;
  cleanup(): void;
}

export function buildDiscovery(): DiscoveryBuild {
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-discovery-build-'));
  try {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        '--outDir', out,
        '--rootDir', join(REPO_ROOT, 'src'),
        '--module', 'NodeNext',
        '--moduleResolution', 'NodeNext',
        '--target', 'ES2022',
        '--strict',
        '--skipLibCheck',
        '--types', 'node',
        '--esModuleInterop',
        join(REPO_ROOT, 'src/discovery/index.ts'),
      ],
      { encoding: 'utf8', cwd: REPO_ROOT, timeout: 120_000 },
    );
    const modulePath = join(out, 'discovery/index.js');
    if (!existsSync(modulePath)) {
      throw new Error(`tsc did not emit ${modulePath} (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    if (r.status !== 0) throw new Error(`src/discovery does not compile:\n${r.stdout}\n${r.stderr}`);
    return { modulePath, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
