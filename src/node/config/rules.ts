/**
 * Rules that link several settings (the schema checks each setting alone), and the final shape of
 * the configuration: the groups as a list with the default group, TLS and etcd sections complete.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GROUP_DEFAULTS } from '../../cluster/group-options.js';
import { etcdAccess } from '../../discovery/etcd/access.js';
import { checkPeerSecurity, readClusterSecret } from '../../transport/auth.js';
import type { TlsConfig } from '../../transport/tls.js';
import { ConfigError } from './errors.js';
import type { OriginConfig } from './origin.js';
import { parsePeers } from './peers.js';
import { DEFAULT_GROUP, type ParsedGroup, type ParsedNode } from './schema.js';

export type GroupConfig = Omit<ParsedGroup, 'notFoundTtl' | 'loadTimeout'> & {
  /** TTL (ms) of a cached "not found" (0 for a group without an origin: nothing to remember). */
  notFoundTtl: number;
  /** Deadline (ms) of one origin load (`origin.timeout` for an http origin, when given). */
  loadTimeout: number;
};

export type EtcdConfig = NonNullable<ParsedNode['etcd']>;

/** DNS discovery: `name` resolved every `intervalMs`; members at `port` (A/AAAA) or the SRV ports. */
export interface DnsConfig {
  name: string;
  port: number;
  intervalMs: number;
  servers: string[];
}

export type NodeConfig = Omit<ParsedNode, '$schema' | 'groups' | 'defaultGroup' | 'etcd' | 'grpc' | 'dns'> & {
  grpc: Omit<ParsedNode['grpc'], 'tls'> & { tls?: TlsConfig };
  etcd?: EtcdConfig;
  dns?: DnsConfig;
  groups: GroupConfig[];
  /** Directory relative origin paths are resolved against (the config file's, else cwd). */
  baseDir: string;
};

export type { OriginConfig };

function checkReadable(path: string, what: string): void {
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function peerTls(t: NonNullable<ParsedNode['grpc']['tls']>): TlsConfig | undefined {
  if (!t.certFile && !t.keyFile && !t.caFile && t.mutual !== true && !t.serverName) return undefined;
  if (!t.certFile || !t.keyFile) {
    throw new ConfigError('peer TLS needs both a certificate and its key (--tls-cert and --tls-key, or grpc.tls.certFile/keyFile)');
  }
  if (t.mutual && !t.caFile) throw new ConfigError("mutual TLS (--tls-mutual) needs --tls-ca: the CA that verifies the peers' certificates");
  checkReadable(t.certFile, '--tls-cert');
  checkReadable(t.keyFile, '--tls-key');
  if (t.caFile) checkReadable(t.caFile, '--tls-ca');
  return {
    certFile: t.certFile,
    keyFile: t.keyFile,
    ...(t.caFile ? { caFile: t.caFile } : {}),
    mutual: t.mutual === true,
    ...(t.serverName ? { serverName: t.serverName } : {}),
  };
}

function etcdSection(e: EtcdConfig): EtcdConfig | undefined {
  if (e.endpoints.length === 0) {
    const given = Object.keys(e).filter((k) => !['endpoints', 'prefix', 'service', 'leaseTtlSeconds', 'startTimeoutMs', 'outageSummaryMs'].includes(k));
    if (given.length > 0) throw new ConfigError(`etcd.${given[0]} is set but no etcd endpoints are (--etcd URLS or etcd.endpoints)`);
    return undefined;
  }
  try {
    etcdAccess(e); // the one home of the TLS / auth rules; reads the files now, before anything starts
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (e.tls && Object.values(e.tls).every((v) => v === undefined)) delete e.tls;
  return e;
}

/** `--peers-dns NAME[:PORT]`: one membership source, and ids that every node derives alike. */
function dnsSection(p: ParsedNode, withEtcd: boolean): DnsConfig | undefined {
  const spec = p.dns.name?.trim();
  if (!spec) {
    if (p.dns.servers.length > 0) throw new ConfigError('--peers-dns-server is set but --peers-dns is not');
    return undefined;
  }
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(spec)!;
  const name = m[1]!.replace(/\.$/, '');
  if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(name)) throw new ConfigError(`--peers-dns: ${JSON.stringify(spec)} is not a DNS name[:port]`);
  const port = m[2] !== undefined ? Number(m[2]) : p.grpc.port;
  if (port < 1 || port > 65535) {
    throw new ConfigError('--peers-dns needs the peers\' gRPC port: give NAME:PORT, or a fixed --grpc-port (not 0)');
  }
  if (withEtcd) throw new ConfigError('--peers-dns and --etcd are two membership sources: use one');
  if (p.peers.length > 0) throw new ConfigError('--peers-dns and --peers are two membership sources: use one');
  if (p.id !== undefined) {
    throw new ConfigError('--id cannot be set with --peers-dns: nodes found in DNS are known by their address, so this node\'s id is <advertise-host>:<grpc-port>');
  }
  if (p.grpc.port === 0) throw new ConfigError('--peers-dns needs a fixed --grpc-port (peers dial the port DNS gives)');
  return { name, port, intervalMs: p.dns.intervalMs, servers: p.dns.servers };
}

/**
 * Peers must authenticate on a listener other hosts can reach: mutual TLS or a cluster secret, or
 * the operator's --insecure-peers (the rule and the secret's are the transport's, auth.ts). The
 * secret file is read now so that a missing or short one stops the node before it listens.
 */
function checkPeers(p: ParsedNode, tls: TlsConfig | undefined): void {
  try {
    const secret = p.cluster.secretFile !== undefined ? readClusterSecret(p.cluster.secretFile) : undefined;
    checkPeerSecurity({ host: p.grpc.host, tls, secret, insecure: p.cluster.insecurePeers });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function finishGroup(g: ParsedGroup, node: ParsedNode, baseDir: string): GroupConfig {
  const at = `group ${g.name}`;
  const origin = g.origin;
  if (origin.type === 'http' && origin.timeout !== undefined && g.loadTimeout !== undefined) {
    throw new ConfigError(`${at}: give origin.timeout or loadTimeout, not both (they are the same deadline)`);
  }
  if (g.maxValueBytes !== undefined && g.maxValueBytes > node.maxValueBytes) {
    throw new ConfigError(`${at} maxValueBytes: ${g.maxValueBytes} is above the node's maxValueBytes (${node.maxValueBytes})`);
  }
  if (origin.type === 'dir' || origin.type === 'module') {
    origin.path = resolve(baseDir, origin.path);
    checkReadable(origin.path, `${at} origin ${origin.type}`);
  }
  return {
    ...g,
    // A plain cache has nothing to remember "not found" for.
    notFoundTtl: g.notFoundTtl ?? (origin.type === 'none' ? 0 : GROUP_DEFAULTS.notFoundTtl),
    loadTimeout: g.loadTimeout ?? (origin.type === 'http' ? origin.timeout : undefined) ?? GROUP_DEFAULTS.loadTimeout,
  };
}

/**
 * `--data-dir` (warm restart): only with a static membership — with etcd or DNS a stopped node
 * leaves the ring and other nodes take writes for its keys, so its snapshot could hold values
 * older than those writes (docs/node.md, "Warm restart"). The directory must be usable now: an
 * existing writable directory, or one that can be created under a writable parent.
 */
function checkDataDir(p: ParsedNode, dynamic: 'etcd' | 'dns' | undefined): void {
  const dir = p.dataDir;
  if (dir === undefined) return;
  if (dynamic !== undefined) {
    throw new ConfigError(
      `--data-dir needs a static membership (--peers, or none), not ${dynamic === 'etcd' ? '--etcd' : '--peers-dns'}: ` +
        "a stopped node leaves that membership and other nodes take writes for its keys, so its snapshot could serve values older than those writes",
    );
  }
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`--data-dir: cannot use ${at}: ${(err as NodeJS.ErrnoException).code}`);
    }
    if (isDir === false) throw new ConfigError(`--data-dir: ${at} is not a directory`);
    if (isDir === true) break;
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  try {
    accessSync(at, fsConstants.W_OK | fsConstants.R_OK | fsConstants.X_OK);
  } catch (err) {
    throw new ConfigError(`--data-dir: ${at} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** ParsedNode → NodeConfig, or a ConfigError naming the settings that disagree. */
export function finish(p: ParsedNode, baseDir: string): NodeConfig {
  if (p.drainDelay > 0 && p.drainDelay >= p.shutdownTimeout) {
    throw new ConfigError(`drainDelay (${p.drainDelay} ms) must be shorter than shutdownTimeout (${p.shutdownTimeout} ms)`);
  }
  const tls = p.grpc.tls ? peerTls(p.grpc.tls) : undefined;
  checkPeers(p, tls);
  const etcd = p.etcd ? etcdSection(p.etcd) : undefined;
  const dns = dnsSection(p, etcd !== undefined);
  if (!etcd && !dns) parsePeers(p.peers); // a bad entry is reported now, not after binding
  checkDataDir(p, etcd ? 'etcd' : dns ? 'dns' : undefined);

  const list: ParsedGroup[] = Array.isArray(p.groups)
    ? p.groups
    : Object.entries(p.groups ?? {}).map(([name, g]) => ({ name, ...g }));
  const seen = new Set<string>();
  for (const g of list) {
    if (seen.has(g.name)) throw new ConfigError(`group ${g.name} is declared twice`);
    seen.add(g.name);
  }
  const groups = list.map((g) => finishGroup(g, p, baseDir));
  if (groups.length === 0) throw new ConfigError('no groups configured (defaultGroup: false and no groups)');

  const { $schema: _s, groups: _g, defaultGroup: _d, etcd: _e, dns: _n, grpc, http, ...rest } = p;
  const { readToken, adminToken, ...httpRest } = http;
  return {
    ...rest,
    // An empty read or admin token is none (as an empty ARENACACHE_READ_TOKEN is).
    http: { ...httpRest, ...(readToken ? { readToken } : {}), ...(adminToken ? { adminToken } : {}) },
    grpc: { host: grpc.host, port: grpc.port, batch: grpc.batch, stream: grpc.stream, ...(tls ? { tls } : {}) },
    ...(etcd ? { etcd } : {}),
    ...(dns ? { dns } : {}),
    groups,
    baseDir,
  };
}

export { DEFAULT_GROUP };
