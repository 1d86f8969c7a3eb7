/**
 * Test helpers for the node: spawn the real CLI (`node dist/node/cli.js ...`) as child processes,
 * read their JSON log lines, stop them by pid and wait for their exit. Build first:
 * `npm run build:ts` (`npm test` does it through pretest).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor, within } from '../helpers/wait.js';
export { sleep, waitFor, within };

/** The tree whose build the tests run; TEST_REPO=/path/to/another/checkout runs them against that build. */
export const REPO = process.env.TEST_REPO ?? resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(REPO, 'dist/node/cli.js');

/** Fail loudly when dist/ is missing or older than src/node (tests must run the current code). */
export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` first (npm test does it)`);
  const built = statSync(CLI).mtimeMs;
  for (const f of readdirSync(join(REPO, 'src'), { recursive: true }) as string[]) {
    if (f.endsWith('.ts') && statSync(join(REPO, 'src', f)).mtimeMs > built + 1000) {
      throw new Error(`src/${f} is newer than dist/: run \`npm run build:ts\` first`);
    }
  }
}


export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A node started with `arenacache serve`. */
export class NodeProc {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private buf = '';
  id = '';
  url = '';
  grpcAddress = '';

  constructor(args: string[], env: Record<string, string> = {}, cwd = REPO) {
    this.child = spawn(process.execPath, [CLI, 'serve', ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.child);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 'raw', msg: line });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves when the node logged "ready" (with its addresses); throws if it exits first. */
  async ready(timeoutMs = 20_000): Promise<this> {
    await waitFor(
      'node ready',
      () => {
        if (this.exit) throw new Error(`node exited (${JSON.stringify(this.exit)}) before ready:\n${this.stderr}\n${this.tail()}`);
        return this.logs.some((l) => l.msg === 'ready');
      },
      timeoutMs,
      () => this.tail(),
    );
    const r = this.logs.find((l) => l.msg === 'ready')!;
    this.id = r.id as string;
    this.url = `http://${r.httpAddress as string}`;
    this.grpcAddress = r.grpcAddress as string;
    return this;
  }

  tail(n = 10): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  /** Send a signal by pid. */
  signal(sig: NodeJS.Signals): void {
    if (this.exit) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
  }

  /** Signal and wait for the exit (SIGKILL after `graceMs`). */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.signal(sig);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }

  /**
   * A log barrier: SIGHUP makes the node log "configuration reloaded" (and change nothing when its
   * configuration did not change); once that line is here, every line logged before it is too.
   */
  async logBarrier(timeoutMs = 5000): Promise<void> {
    const before = this.logs.filter((l) => l.msg === 'configuration reloaded').length;
    this.signal('SIGHUP');
    await waitFor('the SIGHUP log barrier', () => this.logs.filter((l) => l.msg === 'configuration reloaded').length > before, timeoutMs, () => this.tail());
  }

  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(this.url + path, init);
  }
}

/** Start a node and wait until it is ready. Ports default to 0 (any free port) on loopback. */
export async function startNode(args: string[] = [], env: Record<string, string> = {}): Promise<NodeProc> {
  const withPorts = [...args];
  if (!args.includes('--grpc-port') && env.ARENACACHE_GRPC_PORT === undefined) withPorts.push('--grpc-port', '0');
  if (!args.includes('--http-port') && env.ARENACACHE_HTTP_PORT === undefined) withPorts.push('--http-port', '0');
  const n = new NodeProc(withPorts, env);
  try {
    return await n.ready();
  } catch (err) {
    await n.stop('SIGKILL');
    throw err;
  }
}

export async function stopAll(nodes: Iterable<NodeProc>): Promise<void> {
  await Promise.all([...nodes].map((n) => n.stop('SIGKILL')));
}

/** Run a CLI command to completion (async: the test process keeps serving its own servers). */
export function runCli(
  args: string[],
  opts: { input?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number; script?: string } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.script ?? CLI, ...args], {
      cwd: REPO,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`arenacache ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 20_000} ms`));
    }, opts.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A tiny HTTP server in the test process (an origin). */
export async function httpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function tempDir(prefix = 'arenacache-node-test-'): { dir: string; write(name: string, data: string | Uint8Array): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, data) {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ------------------------------------------------------------------------- Prometheus text

export { parsePrometheus, type Sample } from '../helpers/prometheus.js';
import { parsePrometheus, type Sample } from '../helpers/prometheus.js';

/** The value of one sample (labels must match exactly the given subset); undefined if absent. */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

export async function scrape(node: NodeProc): Promise<Sample[]> {
  const res = await node.fetch('/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error('metrics content-type is not text/plain');
  return parsePrometheus(await res.text()).samples;
}

/** The member ids a node lists on /v1/members, comma-separated (or `error: ...`: it did not answer within 1 s). */
export async function memberIds(n: NodeProc): Promise<string> {
  try {
    const body = (await (await n.fetch('/v1/members', { signal: AbortSignal.timeout(1000) })).json()) as { members: { id: string }[] };
    return body.members.map((m) => m.id).join(',');
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Each node's view of the membership, as `id=[members]` (for waits and their failure details). */
export const memberViews = (ns: NodeProc[]): Promise<string[]> => Promise.all(ns.map(async (n) => `${n.id}=[${await memberIds(n)}]`));

/** A waitFor condition: every node in `ns` lists exactly the members `want` (ids, comma-separated). */
export const allSee = (ns: NodeProc[], want: string) => async (): Promise<boolean> => (await Promise.all(ns.map(memberIds))).every((r) => r === want);
