// Request traces in the portable "ACT1" form of ../shared/traces (format in its NOTICE.md):
// gzip of "ACT1" | u32 n | u32 objects | u32 flags | n × u32 object id | (flags & 1: n × u32 size),
// little-endian. The traces are never part of this repository: they are found at run time.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Where the traces are: $TRACES_DIR, else ../shared/traces beside the repository, else beside the
 * main checkout when this is a git worktree (whose own parent folder has no shared/). Returns
 * `{ dir }` or `{ dir: null, tried }`.
 */
export function findTracesDir() {
  const tried = [];
  if (process.env.TRACES_DIR) tried.push(resolve(process.env.TRACES_DIR));
  tried.push(resolve(ROOT, '../shared/traces'));
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    tried.push(resolve(dirname(common), '../shared/traces'));
  } catch {}
  const dir = tried.find((d) => existsSync(d));
  return dir ? { dir } : { dir: null, tried: [...new Set(tried)] };
}

/** `{ n, objects, ids: Uint32Array, sizes: Uint32Array | null }` of one .act.gz file. */
export function readAct(file) {
  const buf = gunzipSync(readFileSync(file));
  if (buf.toString('latin1', 0, 4) !== 'ACT1') throw new Error(`${file}: not an ACT1 trace`);
  const n = buf.readUInt32LE(4);
  const objects = buf.readUInt32LE(8);
  const flags = buf.readUInt32LE(12);
  const words = (at) => {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = buf.readUInt32LE(at + 4 * i);
    return out;
  };
  return { n, objects, ids: words(16), sizes: flags & 1 ? words(16 + 4 * n) : null };
}
