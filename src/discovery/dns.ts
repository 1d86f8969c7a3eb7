/**
 * Membership from DNS: what a Kubernetes headless Service gives. Every `intervalMs` the name is
 * resolved and the ring rebuilt from the answers:
 *
 *   A / AAAA   `arenacache.ns.svc.cluster.local`       → one member per address, `ip:port` (the port
 *              is the one given with the name, default this node's gRPC port); id = that address
 *   SRV        `_grpc._tcp.arenacache.ns.svc.cluster.local` (a name starting with `_`) → one member
 *              per target, `target:port`; id = that address
 *
 * Every node resolves the same name, so every node derives the same ids: a node's own id must be
 * the address DNS gives for it (`--advertise-host` = the pod IP, or its own SRV target name).
 *
 *   answers            → the new membership (self always in it), published when it changed
 *   no such name / no records → just self (the Service lists nobody else)
 *   server unreachable, timeout, SERVFAIL → keep the last membership; logged once per outage
 */
import { Resolver } from 'node:dns/promises';
import { formatHostPort, normalizeMembers, type Membership, type MembershipListener, type NodeInfo } from '../cluster/membership.js';

export interface DnsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DnsMembershipOptions {
  /** This node; its `grpcAddress` is what other nodes find for it in DNS. */
  self: NodeInfo;
  /** The name to resolve: A/AAAA, or SRV when it starts with `_`. */
  name: string;
  /** Port of the members found through A/AAAA records. Default: the port of self.grpcAddress. */
  port?: number;
  /** How often to resolve. Default 5000. */
  intervalMs?: number;
  /** DNS servers (`host` or `host:port`); default the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  /** Deadline of one query. Default 2000. */
  timeoutMs?: number;
  logger?: DnsLogger;
}

export const DNS_DEFAULTS = { intervalMs: 5000, timeoutMs: 2000 } as const;

/** Answers that mean "nobody is listed", as opposed to "could not ask". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

export class DnsMembership implements Membership {
  readonly name: string;
  readonly srv: boolean;
  private readonly self: NodeInfo;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly resolver: Resolver;
  private readonly log: DnsLogger;
  private readonly listeners = new Set<MembershipListener>();
  private list: readonly NodeInfo[];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failing = false;
  private warnedSelfMissing = false;
  private lookups = 0;
  private failures = 0;

  constructor(opts: DnsMembershipOptions) {
    if (!opts.name) throw new RangeError('dns membership: a name to resolve is required');
    this.self = opts.self;
    this.name = opts.name.replace(/\.$/, '');
    this.srv = this.name.startsWith('_');
    this.port = opts.port ?? portOf(opts.self.grpcAddress);
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new RangeError(`dns membership: no port for the members of ${this.name} (give name:port)`);
    }
    this.intervalMs = opts.intervalMs ?? DNS_DEFAULTS.intervalMs;
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? DNS_DEFAULTS.timeoutMs, tries: 1 });
    if (opts.servers && opts.servers.length > 0) this.resolver.setServers([...opts.servers]);
    this.log = opts.logger ?? { info() {}, warn() {} };
    this.list = [opts.self];
  }

  members(): readonly NodeInfo[] {
    return this.list;
  }

  onChange(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Resolves after the first lookup (whatever its outcome: a node starts even if DNS does not answer yet). */
  async start(): Promise<void> {
    this.log.info({ name: this.name, type: this.srv ? 'SRV' : 'A/AAAA', intervalMs: this.intervalMs }, 'dns membership starting');
    await this.refresh();
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
    this.listeners.clear();
  }

  stats(): { name: string; type: string; lookups: number; failures: number; failing: boolean; members: number } {
    return { name: this.name, type: this.srv ? 'SRV' : 'A/AAAA', lookups: this.lookups, failures: this.failures, failing: this.failing, members: this.list.length };
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One lookup: publish the new membership, or keep the last one if DNS could not be asked. */
  private async refresh(): Promise<void> {
    this.lookups++;
    let addresses: string[];
    try {
      addresses = await this.lookup();
    } catch (err) {
      if (this.closed) return;
      this.failures++;
      if (!this.failing) {
        this.failing = true;
        this.log.warn({ name: this.name, err: (err as Error).message, members: this.list.map((m) => m.id) }, 'dns lookup failed; keeping the last membership');
      }
      return;
    }
    if (this.closed) return;
    if (this.failing) {
      this.failing = false;
      this.log.info({ name: this.name }, 'dns answers again');
    }
    this.publish(addresses);
  }

  private async lookup(): Promise<string[]> {
    const orNone = (err: unknown): string[] => {
      if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    };
    if (this.srv) {
      const records = await this.resolver.resolveSrv(this.name).catch(orNone);
      return (records as { name: string; port: number }[]).map((r) => formatHostPort(r.name.replace(/\.$/, ''), r.port));
    }
    // One family may be refused or fail while the other answers: the answers that came are used;
    // only when neither family answered is the lookup a failure.
    const results = await Promise.allSettled([
      this.resolver.resolve4(this.name).catch(orNone),
      this.resolver.resolve6(this.name).catch(orNone),
    ]);
    const answered = results.filter((r): r is PromiseFulfilledResult<string[]> => r.status === 'fulfilled');
    if (answered.length === 0) throw (results[0] as PromiseRejectedResult).reason;
    return answered.flatMap((r) => r.value).map((ip) => formatHostPort(ip, this.port));
  }

  private publish(addresses: string[]): void {
    const found = [...new Set(addresses)];
    const self = this.self;
    if (found.length > 0 && !found.includes(self.grpcAddress) && !this.warnedSelfMissing) {
      this.warnedSelfMissing = true;
      this.log.warn(
        { name: this.name, self: self.grpcAddress, answers: found.slice(0, 10) },
        "this node's address is not among the DNS answers: other nodes know it by another id (set --advertise-host to the address DNS gives for it)",
      );
    }
    const next = normalizeMembers([self, ...found.filter((a) => a !== self.grpcAddress).map((a): NodeInfo => ({ id: a, grpcAddress: a }))]);
    const key = (l: readonly NodeInfo[]) => l.map((m) => m.id).join(',');
    if (key(next) === key(this.list)) return;
    const before = new Set(this.list.map((m) => m.id));
    const after = new Set(next.map((m) => m.id));
    this.list = next;
    this.log.info(
      {
        name: this.name,
        members: next.map((m) => m.id),
        added: [...after].filter((id) => !before.has(id)),
        removed: [...before].filter((id) => !after.has(id)),
      },
      'membership changed',
    );
    for (const l of [...this.listeners]) l(this.list);
  }
}
