/**
 * Test helper: run a real `etcd` (Debian's etcd-server 3.4) on free loopback ports with its own
 * temporary data dir. Every process is stopped by pid (and waited for); every data dir is deleted.
 *
 * If `etcd` is not installed the helper throws an error that says how to install it: etcd tests
 * fail, they never pass by skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';
export const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? 'etcdctl';

export const ETCD_INSTALL_HINT =
  'etcd is required for the discovery tests. Install it with: sudo apt-get install -y etcd-server etcd-client ' +
  '(Debian/Ubuntu; provides `etcd` and `etcdctl` 3.4), or set ETCD_BIN/ETCDCTL_BIN to the binaries.';

/** Throws (with the install hint) unless `bin --version` runs. */
export function requireBinary(bin: string = ETCD_BIN): void {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status}: ${r.stderr}`;
    throw new Error(`cannot run \`${bin} --version\` (${why}). ${ETCD_INSTALL_HINT}`);
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). Collisions are handled by retrying the start. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Last-resort cleanup if the test process exits with etcd still running (e.g. a crashed worker).
const live = new Map<number, ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

export interface EtcdMemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  /** `name=http://127.0.0.1:peer,...`; defaults to this member only. */
  initialCluster?: string;
  clusterToken: string;
  /** Serve clients over TLS (https client URLs), requiring client certificates signed by the CA. */
  tls?: EtcdTlsFiles;
}

/** PEM files for a TLS etcd (see test/helpers/etcd-tls.ts). */
export interface EtcdTlsFiles {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** One etcd process (a single-node cluster or a member of a larger one). */
export class EtcdProcess {
  readonly dataDir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail = '';

  constructor(readonly spec: EtcdMemberSpec) {
    installExitHook();
    this.dataDir = mkdtempSync(join(tmpdir(), `arenacache-etcd-${spec.name}-`));
    chmodSync(this.dataDir, 0o700);
    dirs.add(this.dataDir);
  }

  get clientUrl(): string {
    return `${this.spec.tls ? 'https' : 'http'}://127.0.0.1:${this.spec.clientPort}`;
  }
  get peerUrl(): string {
    return `http://127.0.0.1:${this.spec.peerPort}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== null;
  }

  /**
   * Spawn etcd (fresh or on its existing data dir, same ports). Does not wait for health;
   * use `waitHealthy` (a lone member of a 3-member cluster only becomes healthy with a quorum).
   */
  spawn(): void {
    if (this.child) throw new Error(`etcd ${this.spec.name} is already running`);
    const s = this.spec;
    const args = [
      `--name=${s.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${s.initialCluster ?? `${s.name}=${this.peerUrl}`}`,
      `--initial-cluster-token=${s.clusterToken}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=warn',
    ];
    if (s.tls) {
      args.push(
        `--cert-file=${s.tls.serverCertFile}`,
        `--key-file=${s.tls.serverKeyFile}`,
        `--trusted-ca-file=${s.tls.caFile}`,
        '--client-cert-auth',
      );
    }
    const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.stderrTail = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (child.pid !== undefined) live.delete(child.pid);
        if (this.child === child) this.child = null;
        resolve();
      });
      child.once('error', (err) => {
        this.stderrTail += `\nspawn error: ${err.message}`;
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    if (child.pid !== undefined) live.set(child.pid, child);
  }

  /** Wait until `GET /health` says healthy (a leader exists); throws with etcd's stderr if it exits. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) {
        throw new Error(`etcd ${this.spec.name} exited before becoming healthy:\n${this.stderrTail}`);
      }
      try {
        const body = (await this.getJson('/health')) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        /* not up yet */
      }
      await sleep(50);
    }
    throw new Error(`etcd ${this.spec.name} not healthy after ${timeoutMs} ms:\n${this.stderrTail}`);
  }

  /** GET a JSON document from the client URL (over mutual TLS if configured). */
  private getJson(path: string): Promise<unknown> {
    const tls = this.spec.tls;
    if (!tls) {
      return fetch(`${this.clientUrl}${path}`, { signal: AbortSignal.timeout(1000) }).then((r) => r.json());
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${this.clientUrl}${path}`,
        {
          ca: readFileSync(tls.caFile),
          cert: readFileSync(tls.clientCertFile),
          key: readFileSync(tls.clientKeyFile),
          servername: 'localhost', // the test certificate also names localhost; SNI must not be an IP
          timeout: 1000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body));
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** Member id and the leader's member id, from this member's maintenance status (gRPC gateway). */
  async status(): Promise<{ memberId: string; leader: string }> {
    const res = await fetch(`${this.clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { header: { member_id: string }; leader: string };
    return { memberId: body.header.member_id, leader: body.leader };
  }

  /** Send `signal` to the process by pid and wait for it to exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const exited = this.exited;
    try {
      process.kill(child.pid, signal);
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Simulate a crash. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  /** Stop the process (by default SIGTERM, SIGKILL after 3 s) and delete the data dir. Idempotent. */
  async destroy(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal, 3000);
    rmSync(this.dataDir, { recursive: true, force: true });
    dirs.delete(this.dataDir);
  }

  get stderr(): string {
    return this.stderrTail;
  }
}

function uniqueToken(): string {
  return `arenacache-test-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A single-node etcd, healthy, on free ports. */
export interface EtcdServer {
  endpoints: string[];
  proc: EtcdProcess;
  /** Stop (SIGTERM) without deleting data: `restart()` brings it back on the same ports. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stop and delete the data dir. */
  destroy(): Promise<void>;
  etcdctl(...args: string[]): string;
}

export async function startEtcd(opts: { tls?: EtcdTlsFiles } = {}): Promise<EtcdServer> {
  requireBinary(ETCD_BIN);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    if (clientPort === peerPort) continue;
    const proc = new EtcdProcess({
      name: 'n1',
      clientPort,
      peerPort,
      clusterToken: uniqueToken(),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    proc.spawn();
    try {
      await proc.waitHealthy();
    } catch (err) {
      lastErr = err;
      await proc.destroy();
      continue; // most likely a port collision: try other ports
    }
    const endpoints = [proc.clientUrl];
    return {
      endpoints,
      proc,
      stop: () => proc.stop(),
      restart: async () => {
        // Same ports; retry briefly in case the old socket is still being released.
        for (let i = 0; ; i++) {
          proc.spawn();
          try {
            await proc.waitHealthy();
            return;
          } catch (err) {
            await proc.stop();
            if (i >= 3) throw err;
            await sleep(250);
          }
        }
      },
      destroy: () => proc.destroy(),
      etcdctl: (...args: string[]) =>
        etcdctl(
          endpoints,
          ...(opts.tls
            ? [`--cacert=${opts.tls.caFile}`, `--cert=${opts.tls.clientCertFile}`, `--key=${opts.tls.clientKeyFile}`]
            : []),
          ...args,
        ),
    };
  }
  throw new Error(`could not start etcd: ${String(lastErr)}`);
}

/** Run etcdctl (API v3) against `endpoints`; returns stdout, throws with stderr on failure. */
export function etcdctl(endpoints: string[], ...args: string[]): string {
  const r = spawnSync(ETCDCTL_BIN, [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=2s', '--command-timeout=5s', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 15_000,
  });
  if (r.error) throw new Error(`cannot run ${ETCDCTL_BIN} (${r.error.message}). ${ETCD_INSTALL_HINT}`);
  if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function dataDirExists(p: EtcdProcess): boolean {
  return existsSync(p.dataDir);
}
