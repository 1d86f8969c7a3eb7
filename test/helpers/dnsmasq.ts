/**
 * A real DNS server for tests: dnsmasq (Debian `dnsmasq-base`) on a free loopback port, answering
 * only from a hosts file (A/AAAA) and --srv-host records; names under `.test` are local (unknown
 * ones get NXDOMAIN, like a cluster DNS). Records change by rewriting the file and SIGHUP; the helper
 * then waits until the server answers with the new records. Stopped by pid.
 */
import { spawn, type ChildProcess, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

const BIN = process.env.DNSMASQ_BIN ?? (existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq');

export function requireDnsmasq(): void {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`dnsmasq is required for the DNS discovery tests. Install it with: sudo apt-get install -y dnsmasq-base (${r.error?.message ?? r.stderr})`);
  }
}

/** A UDP port free on 127.0.0.1 right now. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface SrvRecord {
  name: string;
  target: string;
  port: number;
}

export class DnsServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  stderr = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private records: Record<string, string[]>,
    private readonly srv: SrvRecord[],
  ) {}

  /** `host:port` for --peers-dns-server / Resolver.setServers. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(records: Record<string, string[]>, srv: SrvRecord[] = []): Promise<DnsServer> {
    requireDnsmasq();
    // dnsmasq binds TCP as well as UDP on its port: a UDP port free a moment ago may be taken for
    // TCP by another test's server. That start fails at once ("Address already in use"): take
    // another port (a few times at most).
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'arenacache-dns-'));
      const s = new DnsServer(await freeUdpPort(), dir, records, srv);
      s.writeHosts();
      s.spawn();
      try {
        await s.waitAnswers(records);
        return s;
      } catch (e) {
        await s.destroy();
        if (attempt >= 5 || !/Address already in use/.test(s.stderr)) throw e;
      }
    }
  }

  private get hostsFile(): string {
    return join(this.dir, 'hosts');
  }

  private writeHosts(): void {
    const lines = Object.entries(this.records).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`));
    writeFileSync(this.hostsFile, lines.join('\n') + '\n');
  }

  private spawn(): void {
    const args = [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--local=/test/',
      `--port=${this.port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      `--addn-hosts=${this.hostsFile}`,
      '--local-ttl=0',
      '--cache-size=0',
      '--user=root',
      '--pid-file=',
      '--log-facility=-',
      ...this.srv.map((r) => `--srv-host=${r.name},${r.target},${r.port}`),
    ];
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((r) => child.once('exit', () => r()));
    this.child = child;
  }

  /** Resolve as the nodes do (A records, this server only). */
  async resolve4(name: string): Promise<string[]> {
    const r = new Resolver({ timeout: 500, tries: 1 });
    r.setServers([this.address]);
    return (await r.resolve4(name).catch(() => [] as string[])).sort();
  }

  private async waitAnswers(records: Record<string, string[]>): Promise<void> {
    for (const [name, ips] of Object.entries(records)) {
      await waitFor(`dnsmasq answers ${name} = ${ips.join(',')}`, async () => {
        if (this.child?.exitCode !== null) throw new Error(`dnsmasq exited: ${this.stderr}`);
        return JSON.stringify(await this.resolve4(name)) === JSON.stringify([...ips].sort());
      }, 10_000, () => this.stderr);
    }
  }

  /** Replace the A records (SIGHUP re-reads the hosts file) and wait until they are served. */
  async setRecords(records: Record<string, string[]>): Promise<void> {
    this.records = records;
    this.writeHosts();
    this.child!.kill('SIGHUP');
    await this.waitAnswers(records);
  }

  /** Stop the server (SIGTERM by pid) and wait for its exit. */
  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
