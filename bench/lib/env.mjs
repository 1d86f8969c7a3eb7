// The machine and software a run came from: printed in the header and stored in the results.
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pkgVersion } from './peers.mjs';
import { redisServerPath } from './redis.mjs';

function cpuModel() {
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    const m = txt.match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: new URL('../..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function redisVersion() {
  const bin = redisServerPath();
  if (!bin) return null;
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.match(/v=(\S+)/)?.[1] ?? out.trim();
  } catch {
    return null;
  }
}

export function machineInfo() {
  const pj = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const dirty = git(['status', '--porcelain', '--', 'src', 'assembly']);
  return {
    host: os.hostname(),
    cpu: cpuModel(),
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: +(os.totalmem() / 1024 ** 3).toFixed(1),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    node: process.versions.node,
    v8: process.versions.v8,
    arenacache: { version: pj.version, commit: git(['rev-parse', '--short', 'HEAD']), srcDirty: dirty === null ? null : dirty.length > 0 },
    peers: {
      'lru-cache': pkgVersion('lru-cache'),
      'lru.min': pkgVersion('lru.min'),
      mnemonist: pkgVersion('mnemonist'),
      'tiny-lru': pkgVersion('tiny-lru'),
      'quick-lru': pkgVersion('quick-lru'),
      ioredis: pkgVersion('ioredis'),
      '@grpc/grpc-js': pkgVersion('@grpc/grpc-js'),
      'redis-server': redisVersion() ?? 'not installed',
      Map: `built-in (V8 ${process.versions.v8})`,
    },
  };
}

export function headerLines(info, opts) {
  const lines = [];
  lines.push(`arenacache bench — ${new Date().toISOString()}${opts.quick ? ' (--quick)' : ''}`);
  lines.push(`machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}, host ${info.host}`);
  lines.push(`load average at start: ${info.loadavg.join(' ')}`);
  lines.push(`node ${info.node}, V8 ${info.v8}; arenacache ${info.arenacache.version} @ ${info.arenacache.commit ?? '?'}${info.arenacache.srcDirty ? ' (src/assembly modified)' : ''}`);
  lines.push('peers: ' + Object.entries(info.peers).map(([k, v]) => `${k} ${v}`).join(', '));
  return lines;
}
