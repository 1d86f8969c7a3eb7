// Start redis-server on a free loopback port (no persistence) and stop it by pid.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './ports.mjs';

export function redisServerPath() {
  // ARENACACHE_BENCH_REDIS=none simulates a machine without redis-server; a path picks one
  const env = process.env.ARENACACHE_BENCH_REDIS;
  if (env === 'none') return null;
  if (env) return env;
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    sock.once('error', () => resolve(false));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('PONG')) {
        sock.destroy();
        resolve(true);
      }
    });
    sock.once('connect', () => sock.write('PING\r\n'));
    setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, 500);
  });
}

/** Returns { ok: true, port, pid, version, stop() } or { ok: false, reason }. */
export async function startRedis() {
  const bin = redisServerPath();
  if (!bin) return { ok: false, reason: 'redis-server is not installed (apt-get install redis-server)' };
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !exited) {
    if (await ping(port)) {
      let version = null;
      try {
        version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? null;
      } catch {}
      return {
        ok: true,
        port,
        pid: child.pid,
        version,
        stop: () =>
          new Promise((resolve) => {
            if (exited) return resolve();
            child.once('exit', () => resolve());
            process.kill(child.pid, 'SIGTERM');
            setTimeout(() => {
              if (!exited) process.kill(child.pid, 'SIGKILL');
            }, 3000).unref();
          }),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!exited) process.kill(child.pid, 'SIGKILL');
  return { ok: false, reason: `redis-server did not answer PING on 127.0.0.1:${port}${stderr ? ': ' + stderr.trim().split('\n').pop() : ''}` };
}
