/**
 * Shared bits for the discovery tests: bounded waiting, in-process nodes, child-process nodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { NodeInfo } from '../../src/cluster/membership.js';
import { EtcdMembership, type EtcdMembershipOptions, type MembershipEvent } from '../../src/discovery/index.js';
import { CHILD_SCRIPT } from './etcd-node-build.js';
import { sleep, waitFor } from './wait.js';
export { sleep, waitFor };


export const ids = (ms: readonly NodeInfo[]) => ms.map((m) => m.id);

export function nodeInfo(id: string, port = 7000): NodeInfo {
  return { id, grpcAddress: `127.0.0.1:${port}`, httpAddress: `127.0.0.1:${port + 1000}`, weight: 1, version: '0.1.0-test' };
}

/** An in-process node: the membership plus everything it published. */
export interface TestNode {
  id: string;
  m: EtcdMembership;
  /** Every onChange call, in order (ids). */
  changes: string[][];
  events: MembershipEvent[];
}

export function makeNode(
  id: string,
  endpoints: string[],
  extra: Partial<EtcdMembershipOptions> = {},
  port = 7000,
): TestNode {
  const m = new EtcdMembership({
    self: nodeInfo(id, port),
    endpoints,
    service: 'test',
    leaseTtlSeconds: 2,
    callTimeoutMs: 1000,
    dialTimeoutMs: 1500,
    retryInitialMs: 100,
    retryMaxMs: 500,
    startTimeoutMs: 20_000,
    ...extra,
  });
  const node: TestNode = { id, m, changes: [], events: [] };
  m.onChange((members) => node.changes.push(ids(members)));
  m.onEvent((e) => node.events.push(e));
  return node;
}

export async function closeAll(nodes: Iterable<TestNode>): Promise<void> {
  await Promise.all([...nodes].map((n) => n.m.close()));
}

/** A node in its own process (test/helpers/etcd-node-child.mjs running the compiled EtcdMembership). */
export class ChildNode {
  readonly proc: ChildProcess;
  members: string[] = [];
  started = false;
  closed = false;
  error: string | null = null;
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private buf = '';

  constructor(
    readonly id: string,
    modulePath: string,
    options: Omit<EtcdMembershipOptions, 'logger'>,
  ) {
    this.proc = spawn(process.execPath, [CHILD_SCRIPT], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ARENACACHE_DISCOVERY_MODULE: modulePath,
        ARENACACHE_MEMBERSHIP_OPTIONS: JSON.stringify(options),
      },
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line) as { type: string; members?: string[]; message?: string };
        this.lines.push(msg);
        if (msg.type === 'started') ((this.started = true), (this.members = msg.members!));
        else if (msg.type === 'members') this.members = msg.members!;
        else if (msg.type === 'closed') this.closed = true;
        else if (msg.type === 'error') this.error = msg.message ?? 'error';
      }
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Send a signal by pid and wait for the exit (SIGKILL after `graceMs`). */
  async signal(sig: NodeJS.Signals, graceMs = 10_000): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
