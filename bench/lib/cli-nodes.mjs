// Real `arenacache serve` processes and a throwaway etcd for benchmark sections that need the
// node as people run it (signals, leases). Every process is stopped by pid; data dirs are removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.mjs';

export { freePort };

export const CLI = fileURLToPath(new URL('../../dist/node/cli.js', import.meta.url));

export function cliSupport() {
  if (!existsSync(CLI)) return { ok: false, reason: 'dist/node/cli.js not built (npm run build)' };
  return { ok: true };
}

export function etcdSupport() {
  const r = spawnSync(process.env.ETCD_BIN ?? 'etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return { ok: false, reason: 'etcd is not installed (apt-get install etcd-server)' };
  return { ok: true };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A single-member etcd on free loopback ports. */
export async function startEtcd() {
  const [client, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-bench-etcd-'));
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(process.env.ETCD_BIN ?? 'etcd', [
    '--name=bench', `--data-dir=${dir}`, `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=bench=${peerUrl}`,
    '--initial-cluster-state=new', '--logger=zap', '--log-level=warn',
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise((r) => child.once('exit', r));
  const t0 = Date.now();
  for (;;) {
    try {
      const body = await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).json();
      if (body.health === 'true') break;
    } catch {}
    if (Date.now() - t0 > 20_000) throw new Error('etcd did not become healthy');
    await sleep(100);
  }
  return {
    url,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A node's JSON log lines (its stdout, one object per line), in an array that fills as they come. */
export function collectLogs(child) {
  const logs = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {}
    }
  });
  return logs;
}

/**
 * `arenacache serve ...args`; resolves once it logged "ready" (with its HTTP URL and gRPC address).
 * `cli`: another build's dist/node/cli.js (a baseline checkout).
 */
export async function startCliNode(args, { cli = CLI } = {}) {
  // The bench's own ARENACACHE_BENCH_* variables are not the node's (it refuses unknown ARENACACHE_* ones).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ARENACACHE_BENCH_')));
  const child = spawn(process.execPath, [cli, 'serve', '--http-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const logs = collectLogs(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const t0 = Date.now();
  let ready;
  while (!(ready = logs.find((l) => l.msg === 'ready'))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node exited before ready: ${JSON.stringify(logs.slice(-3))} ${stderr.trim()}`);
    if (Date.now() - t0 > 20_000) throw new Error('node not ready within 20 s');
    await sleep(20);
  }
  return {
    id: ready.id,
    url: `http://${ready.httpAddress}`,
    grpcAddress: ready.grpcAddress,
    pid: child.pid,
    logs,
    signal(sig) {
      try {
        process.kill(child.pid, sig);
      } catch {}
    },
    async stop() {
      this.signal('SIGCONT');
      this.signal('SIGKILL');
      await exited;
    },
  };
}
