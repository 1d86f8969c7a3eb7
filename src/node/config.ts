/**
 * Configuration of a node: defaults ← config file (JSON or YAML) ← environment (ARENACACHE_*) ←
 * command-line flags. Every flag has an environment variable; the file can hold everything the
 * flags can and more (several groups, etcd timeouts, inline etcd PEM).
 */
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatHostPort } from '../cluster/membership.js';
import { checkHotCacheFraction, checkNodeId, GROUP_NAME_RE } from '../cluster/validate.js';
import type { EtcdDiscoveryConfig } from '../discovery/config.js';
import { checkLeaseTtl, ETCD_DEFAULTS } from '../discovery/etcd/options.js';
import type { TlsConfig } from '../transport/tls.js';
import {
  CLUSTER_FLAGS,
  CLUSTER_KEYS,
  clusterSettings,
  readToken,
  redactClusterSettings,
  type ClusterSettings,
} from './cluster-options.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// ----------------------------------------------------------------------------- types

export type OriginConfig =
  | { type: 'none' }
  | {
      type: 'http';
      /** URL template: `{key}` = the key percent-encoded, `{path}` = the key with `/` kept, `{group}` = group name. */
      url: string;
      /** Origin statuses that mean "this key does not exist" (cached for notFoundTtl). Default [404, 410]. */
      notFoundStatuses?: number[];
      /** Extra request headers (e.g. an API token for the origin). */
      headers?: Record<string, string>;
      /** Deadline of one request: the group's loadTimeout (give one or the other). */
      timeout?: number;
    }
  | { type: 'dir'; path: string }
  | { type: 'module'; path: string; options?: unknown };

export interface GroupConfig {
  name: string;
  /** Byte budget (main + hot cache). */
  maxBytes: number;
  /** TTL (ms) of loaded and set values; 0 = none. */
  ttl: number;
  /** TTL (ms) of a cached "not found". */
  notFoundTtl: number;
  /** Deadline (ms) of one origin load; a load past it answers 504. */
  loadTimeout: number;
  maxKeyBytes: number;
  maxValueBytes?: number;
  hotCacheFraction?: number;
  fallbackToLocalLoad?: boolean;
  origin: OriginConfig;
}

export interface NodeConfig {
  /** Node id; default `<advertiseHost>:<grpcPort>` (or `<hostname>-<pid>` with an ephemeral port). */
  id?: string;
  /** Peer gRPC. `tls`: TLS / mutual TLS between nodes (one certificate per node, server and client). */
  grpc: { host: string; port: number; tls?: TlsConfig };
  http: { host: string; port: number; authToken?: string; readToken?: string };
  /** Peer authentication, owner deadline, breaker (issue 13; see cluster-options.ts). */
  cluster: ClusterSettings;
  /** Host others dial (gRPC and HTTP addresses published in membership). Default: the bind host (hostname if 0.0.0.0/::). */
  advertiseHost?: string;
  /** Static membership: `id=host:port` or `host:port` (id = address). Ignored when etcd is set. */
  peers: string[];
  etcd?: EtcdDiscoveryConfig & { endpoints: string[] };
  maxValueBytes: number;
  /** Bound (ms) on a graceful shutdown. */
  shutdownTimeout: number;
  /** After readyz turns 503 (and the etcd lease is revoked), keep serving this long before closing the listener. */
  drainDelay: number;
  logLevel: string;
  groups: GroupConfig[];
  /** Directory relative paths in the config file are resolved against (the file's, else cwd). */
  baseDir: string;
}

// ----------------------------------------------------------------------------- flags

type Kind = 'string' | 'int' | 'port' | 'bytes' | 'duration' | 'list' | 'level' | 'bool' | 'file';

export interface FlagSpec {
  name: string;
  kind: Kind;
  /** Dotted path in the config file / NodeConfig (`group.` = the default group). */
  path: string;
  default?: string;
  help: string;
  placeholder?: string;
}

export const DEFAULT_GROUP = 'default';
export const DEFAULTS = {
  grpcHost: '127.0.0.1',
  grpcPort: 7070,
  httpHost: '127.0.0.1',
  httpPort: 7080,
  maxBytes: 64 * 1024 * 1024,
  maxValueBytes: 8 * 1024 * 1024,
  maxKeyBytes: 1024,
  notFoundTtl: 1000,
  loadTimeout: 5000,
  shutdownTimeout: 10_000,
  logLevel: 'info',
  etcdPrefix: ETCD_DEFAULTS.prefix,
  etcdService: ETCD_DEFAULTS.service,
  etcdLeaseTtl: ETCD_DEFAULTS.leaseTtlSeconds,
} as const;

export const SERVE_FLAGS: readonly FlagSpec[] = [
  { name: 'config', kind: 'string', path: '', placeholder: 'FILE', help: 'JSON or YAML config file (several groups, any setting); flags and env override it' },
  { name: 'id', kind: 'string', path: 'id', placeholder: 'ID', help: 'node id, unique in the cluster (default <advertise-host>:<grpc-port>)' },
  { name: 'grpc-host', kind: 'string', path: 'grpc.host', default: DEFAULTS.grpcHost, placeholder: 'HOST', help: 'interface the peer gRPC server binds' },
  { name: 'grpc-port', kind: 'port', path: 'grpc.port', default: String(DEFAULTS.grpcPort), placeholder: 'PORT', help: 'peer gRPC port (0 = any free port)' },
  { name: 'http-host', kind: 'string', path: 'http.host', default: DEFAULTS.httpHost, placeholder: 'HOST', help: 'interface the HTTP API binds' },
  { name: 'http-port', kind: 'port', path: 'http.port', default: String(DEFAULTS.httpPort), placeholder: 'PORT', help: 'HTTP API port (0 = any free port)' },
  { name: 'advertise-host', kind: 'string', path: 'advertiseHost', placeholder: 'HOST', help: 'host peers dial (default: the bind host; the hostname when binding 0.0.0.0)' },
  { name: 'peers', kind: 'list', path: 'peers', placeholder: 'LIST', help: 'static membership: comma-separated id=host:port or host:port (self is added)' },
  { name: 'tls-cert', kind: 'file', path: 'grpc.tls.certFile', placeholder: 'FILE', help: 'peer gRPC over TLS: this node\'s PEM certificate (server and client; SAN = the host peers dial)' },
  { name: 'tls-key', kind: 'file', path: 'grpc.tls.keyFile', placeholder: 'FILE', help: 'PEM private key of --tls-cert' },
  { name: 'tls-ca', kind: 'file', path: 'grpc.tls.caFile', placeholder: 'FILE', help: 'PEM CA bundle that signed the peers\' certificates (default: the system roots)' },
  { name: 'tls-mutual', kind: 'bool', path: 'grpc.tls.mutual', placeholder: '', help: 'mutual TLS: peers must present a certificate signed by --tls-ca (env: true/false)' },
  { name: 'tls-server-name', kind: 'string', path: 'grpc.tls.serverName', placeholder: 'NAME', help: 'name to verify in peers\' certificates instead of the host they are dialed at' },
  { name: 'etcd', kind: 'list', path: 'etcd.endpoints', placeholder: 'URLS', help: 'etcd endpoints (comma-separated): register and discover through etcd' },
  { name: 'etcd-prefix', kind: 'string', path: 'etcd.prefix', default: DEFAULTS.etcdPrefix, placeholder: 'PREFIX', help: 'etcd key prefix' },
  { name: 'etcd-service', kind: 'string', path: 'etcd.service', default: DEFAULTS.etcdService, placeholder: 'NAME', help: 'cluster name: nodes only see nodes of the same service' },
  { name: 'etcd-lease-ttl', kind: 'int', path: 'etcd.leaseTtlSeconds', default: String(DEFAULTS.etcdLeaseTtl), placeholder: 'SECONDS', help: 'lease TTL: a crashed node leaves the ring after about this long (>= 2)' },
  { name: 'etcd-ca', kind: 'file', path: 'etcd.tls.caFile', placeholder: 'FILE', help: 'etcd over TLS: PEM CA bundle of the etcd servers (endpoints default to https://)' },
  { name: 'etcd-cert', kind: 'file', path: 'etcd.tls.certFile', placeholder: 'FILE', help: 'etcd client certificate (PEM), for etcd --client-cert-auth; with --etcd-key' },
  { name: 'etcd-key', kind: 'file', path: 'etcd.tls.keyFile', placeholder: 'FILE', help: 'PEM private key of --etcd-cert' },
  { name: 'etcd-user', kind: 'string', path: 'etcd.username', placeholder: 'NAME', help: 'etcd user (needs readwrite on the prefix); with --etcd-password-file' },
  { name: 'etcd-password-file', kind: 'file', path: 'etcd.passwordFile', placeholder: 'FILE', help: 'file holding the etcd user\'s password (trailing newline ignored)' },
  { name: 'max-bytes', kind: 'bytes', path: 'group.maxBytes', default: '64MiB', placeholder: 'SIZE', help: 'byte budget of the default group' },
  { name: 'ttl', kind: 'duration', path: 'group.ttl', default: '0', placeholder: 'DURATION', help: 'TTL of values in the default group (0 = none)' },
  { name: 'not-found-ttl', kind: 'duration', path: 'group.notFoundTtl', default: '1s', placeholder: 'DURATION', help: 'how long the default group caches "not found" from its origin (0 with no origin)' },
  { name: 'load-timeout', kind: 'duration', path: 'group.loadTimeout', default: '5s', placeholder: 'DURATION', help: 'origin deadline of the default group (504 past it)' },
  { name: 'origin', kind: 'string', path: 'group.origin', default: 'none', placeholder: 'ORIGIN', help: 'origin of the default group: none | http(s)://host/{key} | dir:PATH | module:FILE' },
  { name: 'max-value-bytes', kind: 'bytes', path: 'maxValueBytes', default: '8MiB', placeholder: 'SIZE', help: 'largest value any group accepts (413 above it); lower for a group whose cache segment holds less' },
  { name: 'auth-token', kind: 'string', path: 'http.authToken', placeholder: 'TOKEN', help: 'require "Authorization: Bearer TOKEN" for PUT and DELETE' },
  { name: 'shutdown-timeout', kind: 'duration', path: 'shutdownTimeout', default: '10s', placeholder: 'DURATION', help: 'bound on a graceful shutdown (in-flight requests)' },
  { name: 'drain-delay', kind: 'duration', path: 'drainDelay', default: '0', placeholder: 'DURATION', help: 'on shutdown, keep accepting requests this long after readyz turns 503 (for load balancers)' },
  { name: 'log-level', kind: 'level', path: 'logLevel', default: DEFAULTS.logLevel, placeholder: 'LEVEL', help: 'fatal | error | warn | info | debug | trace | silent' },
  ...CLUSTER_FLAGS,
];

export function envName(flag: string): string {
  return 'ARENACACHE_' + flag.toUpperCase().replace(/-/g, '_');
}

// ----------------------------------------------------------------------------- value parsers

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `65536`, `64MiB` (1024-based), `64MB` (1000-based), `64m` (1024-based). */
export function parseBytes(v: unknown, what: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new ConfigError(`${what}: expected a non-negative integer number of bytes, got ${v}`);
  }
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${what}: expected a size like 65536, 512KiB or 64MiB, got ${JSON.stringify(v)}`);
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${what}: ${JSON.stringify(v)} is too large`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds: `1500`, `1500ms`, `1.5s`, `2m`, `1h`. */
export function parseDuration(v: unknown, what: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new ConfigError(`${what}: expected a non-negative integer number of ms, got ${v}`);
  }
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/.exec(v) : null;
  if (!m) throw new ConfigError(`${what}: expected a duration like 500ms, 30s, 5m or a number of ms, got ${JSON.stringify(v)}`);
  const n = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${what}: ${JSON.stringify(v)} is too large`);
  return n;
}

function parseInt10(v: unknown, what: string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${what}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function parseList(v: unknown, what: string): string[] {
  const raw = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : null;
  if (raw === null || raw.some((x) => typeof x !== 'string')) {
    throw new ConfigError(`${what}: expected a list of strings or a comma-separated string`);
  }
  return (raw as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x.length > 0);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseValue(kind: Kind, v: unknown, what: string): unknown {
  switch (kind) {
    case 'string':
    case 'file':
      if (typeof v !== 'string') throw new ConfigError(`${what}: expected a string`);
      return v;
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|1|yes|on)$/i.test(v.trim())) return true;
      if (typeof v === 'string' && /^(false|0|no|off)$/i.test(v.trim())) return false;
      throw new ConfigError(`${what}: expected true or false, got ${JSON.stringify(v)}`);
    case 'int':
      return parseInt10(v, what, 0, Number.MAX_SAFE_INTEGER);
    case 'port':
      return parseInt10(v, what, 0, 65535);
    case 'bytes':
      return parseBytes(v, what);
    case 'duration':
      return parseDuration(v, what);
    case 'list':
      return parseList(v, what);
    case 'level':
      if (typeof v !== 'string' || !LEVELS.includes(v)) throw new ConfigError(`${what}: expected one of ${LEVELS.join(', ')}`);
      return v;
  }
}

/** `none`, `http(s)://…`, `dir:PATH`, `module:FILE` → an origin config. */
export function parseOriginSpec(spec: string, what = 'origin'): OriginConfig {
  const s = spec.trim();
  if (s === '' || s === 'none') return { type: 'none' };
  if (/^https?:\/\//i.test(s)) return { type: 'http', url: s };
  if (s.startsWith('dir:')) return { type: 'dir', path: s.slice(4) };
  if (s.startsWith('module:')) return { type: 'module', path: s.slice(7) };
  throw new ConfigError(`${what}: expected none, an http(s):// URL template, dir:PATH or module:FILE, got ${JSON.stringify(spec)}`);
}

// ----------------------------------------------------------------------------- loading

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = ['.yaml', '.yml'].includes(extname(file).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${file}: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (!isObject(data)) throw new ConfigError(`config file ${file}: expected an object at the top level`);
  return data;
}

function getPath(obj: Raw, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function setPath(obj: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as Raw;
  }
  cur[parts[parts.length - 1]!] = value;
}

const TOP_KEYS = new Set(['id', 'grpc', 'http', 'advertiseHost', 'peers', 'etcd', 'maxValueBytes', 'shutdownTimeout', 'drainDelay', 'logLevel', 'groups', 'defaultGroup', 'cluster']);
const TLS_KEYS = new Set(['caFile', 'certFile', 'keyFile', 'mutual', 'serverName']);
const GROUP_KEYS = new Set(['name', 'maxBytes', 'ttl', 'notFoundTtl', 'loadTimeout', 'maxKeyBytes', 'maxValueBytes', 'hotCacheFraction', 'fallbackToLocalLoad', 'origin']);

export interface ConfigSources {
  /** Values from flags, by flag name (already strings/booleans from parseArgs). */
  flags: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Merge defaults, the config file (`--config` / ARENACACHE_CONFIG), the environment and the flags
 * into a validated NodeConfig. Throws ConfigError with a message fit for the user.
 */
export function loadConfig(src: ConfigSources): NodeConfig {
  const cwd = src.cwd ?? process.cwd();
  const configFile = src.flags.config ?? src.env[envName('config')];
  const file: Raw = configFile ? readConfigFile(resolve(cwd, configFile)) : {};
  for (const k of Object.keys(file)) {
    if (!TOP_KEYS.has(k)) throw new ConfigError(`config file: unknown key ${JSON.stringify(k)} (known: ${[...TOP_KEYS].join(', ')})`);
  }
  const baseDir = configFile ? dirname(resolve(cwd, configFile)) : cwd;

  // Overrides from env then flags, as raw values at their config paths (validated below).
  const overrides: Raw = {};
  for (const f of SERVE_FLAGS) {
    if (!f.path) continue;
    const fromEnv = src.env[envName(f.name)];
    const fromFlag = src.flags[f.name];
    const v = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
    if (v === undefined) continue;
    const what = fromFlag !== undefined ? `--${f.name}` : envName(f.name);
    let parsed = f.name === 'origin' ? parseOriginSpec(v, what) : parseValue(f.kind, v, what);
    if (f.kind === 'file') parsed = resolve(cwd, parsed as string); // flag/env paths: relative to cwd
    setPath(overrides, f.path, parsed);
  }

  const pick = (path: string, kind: Kind, def: unknown, what = path): unknown => {
    const o = getPath(overrides, path);
    if (o !== undefined) return o;
    const fv = getPath(file, path);
    if (fv !== undefined && fv !== null) return parseValue(kind, fv, `config file ${what}`);
    return def;
  };

  const id = pick('id', 'string', undefined) as string | undefined;
  if (id !== undefined) asConfigError(() => checkNodeId(id), 'id');
  const cfg: NodeConfig = {
    ...(id !== undefined ? { id } : {}),
    grpc: {
      host: pick('grpc.host', 'string', DEFAULTS.grpcHost) as string,
      port: pick('grpc.port', 'port', DEFAULTS.grpcPort) as number,
    },
    http: {
      host: pick('http.host', 'string', DEFAULTS.httpHost) as string,
      port: pick('http.port', 'port', DEFAULTS.httpPort) as number,
    },
    peers: pick('peers', 'list', []) as string[],
    maxValueBytes: pick('maxValueBytes', 'bytes', DEFAULTS.maxValueBytes) as number,
    shutdownTimeout: pick('shutdownTimeout', 'duration', DEFAULTS.shutdownTimeout) as number,
    drainDelay: pick('drainDelay', 'duration', 0) as number,
    logLevel: pick('logLevel', 'level', DEFAULTS.logLevel) as string,
    groups: [],
    baseDir,
    cluster: { insecurePeers: false, ownerTimeout: 0, breakerFailures: 0, breakerHalfOpenMs: 0 }, // set below
  };
  const token = pick('http.authToken', 'string', undefined) as string | undefined;
  if (token !== undefined && token !== '') cfg.http.authToken = token;
  const adv = pick('advertiseHost', 'string', undefined) as string | undefined;
  if (adv) cfg.advertiseHost = adv;
  if (cfg.drainDelay >= cfg.shutdownTimeout && cfg.drainDelay > 0) {
    throw new ConfigError(`drainDelay (${cfg.drainDelay} ms) must be shorter than shutdownTimeout (${cfg.shutdownTimeout} ms)`);
  }
  if (cfg.maxValueBytes < 1) throw new ConfigError('maxValueBytes must be at least 1');

  /** A file path: a flag/env value (already resolved against cwd), else the file's (against its directory). */
  const pickFile = (path: string): string | undefined => {
    const o = getPath(overrides, path);
    if (o !== undefined) return o as string;
    const fv = getPath(file, path);
    if (fv === undefined || fv === null) return undefined;
    return resolve(baseDir, parseValue('file', fv, `config file ${path}`) as string);
  };

  // Peer gRPC TLS: flags/env/file grpc.tls.
  const fileGrpc = file.grpc;
  if (fileGrpc !== undefined && fileGrpc !== null && !isObject(fileGrpc)) throw new ConfigError('config file grpc: expected an object');
  const fileTls = isObject(fileGrpc) ? fileGrpc.tls : undefined;
  if (fileTls !== undefined && fileTls !== null) {
    if (!isObject(fileTls)) throw new ConfigError('config file grpc.tls: expected an object');
    for (const k of Object.keys(fileTls)) {
      if (!TLS_KEYS.has(k)) throw new ConfigError(`config file grpc.tls: unknown key ${JSON.stringify(k)} (known: ${[...TLS_KEYS].join(', ')})`);
    }
  }
  const tls = {
    certFile: pickFile('grpc.tls.certFile'),
    keyFile: pickFile('grpc.tls.keyFile'),
    caFile: pickFile('grpc.tls.caFile'),
    mutual: pick('grpc.tls.mutual', 'bool', undefined) as boolean | undefined,
    serverName: pick('grpc.tls.serverName', 'string', undefined) as string | undefined,
  };
  if (tls.certFile || tls.keyFile || tls.caFile || tls.mutual === true || tls.serverName) {
    if (!tls.certFile || !tls.keyFile) {
      throw new ConfigError('peer TLS needs both a certificate and its key (--tls-cert and --tls-key, or grpc.tls.certFile/keyFile)');
    }
    if (tls.mutual && !tls.caFile) {
      throw new ConfigError('mutual TLS (--tls-mutual) needs --tls-ca: the CA that verifies the peers\' certificates');
    }
    for (const [what, f] of [['--tls-cert', tls.certFile], ['--tls-key', tls.keyFile], ['--tls-ca', tls.caFile]] as const) {
      if (f) checkReadable(f, what);
    }
    cfg.grpc.tls = {
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      ...(tls.caFile ? { caFile: tls.caFile } : {}),
      mutual: tls.mutual === true,
      ...(tls.serverName ? { serverName: tls.serverName } : {}),
    };
  }

  // Issue 13's cluster options (cluster-options.ts).
  const fileCluster = file.cluster;
  if (fileCluster !== undefined && fileCluster !== null) {
    if (!isObject(fileCluster)) throw new ConfigError('config file cluster: expected an object');
    for (const k of Object.keys(fileCluster)) {
      if (!CLUSTER_KEYS.has(k)) throw new ConfigError(`config file cluster: unknown key ${JSON.stringify(k)} (known: ${[...CLUSTER_KEYS].join(', ')})`);
    }
  }
  asConfigError(() => {
    cfg.cluster = clusterSettings(pick, pickFile, cfg.grpc);
    const rt = readToken(pick);
    if (rt !== undefined) cfg.http.readToken = rt;
  }, 'cluster options');

  // etcd: the file's whole section (TLS, auth, timeouts) + endpoints/prefix/service/ttl overrides.
  const fileEtcd = file.etcd;
  if (fileEtcd !== undefined && fileEtcd !== null && !isObject(fileEtcd)) throw new ConfigError('config file etcd: expected an object');
  const endpoints = pick('etcd.endpoints', 'list', []) as string[];
  if (endpoints.length > 0) {
    const ttl = pick('etcd.leaseTtlSeconds', 'int', DEFAULTS.etcdLeaseTtl, 'etcd.leaseTtlSeconds') as number;
    asConfigError(() => checkLeaseTtl(ttl), 'etcd lease TTL');
    const service = pick('etcd.service', 'string', DEFAULTS.etcdService) as string;
    if (!service || service.includes('/')) throw new ConfigError(`etcd service ${JSON.stringify(service)}: non-empty, no '/'`);
    const etcd: NodeConfig['etcd'] = {
      ...((fileEtcd as Raw | undefined) ?? {}),
      endpoints,
      prefix: pick('etcd.prefix', 'string', DEFAULTS.etcdPrefix) as string,
      service,
      leaseTtlSeconds: ttl,
    };
    // TLS / password files: the file's are relative to the config file, the flags' to cwd. A flag
    // replaces the file's file path or inline PEM / password.
    const fileEtcdTls = (fileEtcd as Raw | undefined)?.tls;
    if (fileEtcdTls !== undefined && fileEtcdTls !== null && !isObject(fileEtcdTls)) throw new ConfigError('config file etcd.tls: expected an object');
    const t: NonNullable<EtcdDiscoveryConfig['tls']> = { ...((fileEtcdTls as Raw | undefined) ?? {}) };
    for (const [k, inline] of [['caFile', 'ca'], ['certFile', 'cert'], ['keyFile', 'key']] as const) {
      const f = pickFile(`etcd.tls.${k}`);
      if (f === undefined) continue;
      t[k] = f;
      if (getPath(overrides, `etcd.tls.${k}`) !== undefined) delete t[inline];
    }
    delete etcd.tls;
    if (Object.keys(t).length > 0) {
      if (!t.ca && !t.caFile) throw new ConfigError('etcd TLS needs the CA of the etcd servers (--etcd-ca, or etcd.tls.caFile / ca)');
      if (!(t.cert || t.certFile) !== !(t.key || t.keyFile)) {
        throw new ConfigError('etcd TLS client authentication needs both a certificate and its key (--etcd-cert and --etcd-key)');
      }
      if (t.caFile) checkReadable(t.caFile, '--etcd-ca');
      if (t.certFile) checkReadable(t.certFile, '--etcd-cert');
      if (t.keyFile) checkReadable(t.keyFile, '--etcd-key');
      etcd.tls = t;
    }
    const user = pick('etcd.username', 'string', undefined) as string | undefined;
    if (user !== undefined) etcd.username = user;
    const passwordFile = pickFile('etcd.passwordFile');
    if (passwordFile !== undefined) {
      etcd.passwordFile = passwordFile;
      if (getPath(overrides, 'etcd.passwordFile') !== undefined) delete etcd.password;
      checkReadable(passwordFile, '--etcd-password-file');
    }
    if (etcd.username !== undefined && etcd.password === undefined && etcd.passwordFile === undefined) {
      throw new ConfigError('etcd user given without a password (--etcd-password-file, or etcd.password / passwordFile)');
    }
    if (etcd.username === undefined && (etcd.password !== undefined || etcd.passwordFile !== undefined)) {
      throw new ConfigError('etcd password given without a user (--etcd-user, or etcd.username)');
    }
    cfg.etcd = etcd;
  }

  // Groups: the file's list (or map), then the default group, patched by the default-group flags.
  const groupsRaw = file.groups;
  let list: Raw[] = [];
  if (Array.isArray(groupsRaw)) {
    list = groupsRaw.map((g, i) => {
      if (!isObject(g)) throw new ConfigError(`config file groups[${i}]: expected an object`);
      return g;
    });
  } else if (isObject(groupsRaw)) {
    list = Object.entries(groupsRaw).map(([name, g]) => {
      if (g !== null && !isObject(g)) throw new ConfigError(`config file groups.${name}: expected an object`);
      return { name, ...(g ?? {}) };
    });
  } else if (groupsRaw !== undefined && groupsRaw !== null) {
    throw new ConfigError('config file groups: expected a list or a map of groups');
  }
  const groupOverrides = (getPath(overrides, 'group') as Raw | undefined) ?? {};
  const hasDefault = list.some((g) => g.name === DEFAULT_GROUP);
  if (!hasDefault && (file.defaultGroup !== false || Object.keys(groupOverrides).length > 0)) {
    list.push({ name: DEFAULT_GROUP });
  }
  const seen = new Set<string>();
  for (const g of list) {
    const isDefault = g.name === DEFAULT_GROUP;
    const gc = parseGroup(isDefault ? { ...g, ...groupOverrides } : g, cfg.maxValueBytes);
    if (seen.has(gc.name)) throw new ConfigError(`group ${gc.name} is declared twice`);
    seen.add(gc.name);
    cfg.groups.push(gc);
  }
  if (cfg.groups.length === 0) throw new ConfigError('no groups configured');
  return cfg;
}

function parseGroup(g: Raw, maxValueBytes: number): GroupConfig {
  const name = g.name;
  if (typeof name !== 'string' || !GROUP_NAME_RE.test(name)) {
    throw new ConfigError(`group name ${JSON.stringify(name)}: expected 1..64 of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
  const at = `group ${name}`;
  for (const k of Object.keys(g)) {
    if (!GROUP_KEYS.has(k)) throw new ConfigError(`${at}: unknown key ${JSON.stringify(k)} (known: ${[...GROUP_KEYS].join(', ')})`);
  }
  let origin: OriginConfig;
  const o = g.origin;
  if (o === undefined || o === null) origin = { type: 'none' };
  else if (typeof o === 'string') origin = parseOriginSpec(o, `${at} origin`);
  else if (isObject(o)) origin = parseOriginObject(o, `${at} origin`);
  else throw new ConfigError(`${at} origin: expected a string or an object`);

  const maxBytes = g.maxBytes === undefined ? DEFAULTS.maxBytes : parseBytes(g.maxBytes, `${at} maxBytes`);
  if (maxBytes < 64 * 1024) throw new ConfigError(`${at} maxBytes: at least 64KiB`);
  const gc: GroupConfig = {
    name,
    maxBytes,
    ttl: g.ttl === undefined ? 0 : parseDuration(g.ttl, `${at} ttl`),
    // A plain cache has nothing to remember "not found" for.
    notFoundTtl:
      g.notFoundTtl === undefined ? (origin.type === 'none' ? 0 : DEFAULTS.notFoundTtl) : parseDuration(g.notFoundTtl, `${at} notFoundTtl`),
    loadTimeout:
      g.loadTimeout !== undefined
        ? parseDuration(g.loadTimeout, `${at} loadTimeout`)
        : origin.type === 'http' && origin.timeout !== undefined
          ? origin.timeout
          : DEFAULTS.loadTimeout,
    maxKeyBytes: g.maxKeyBytes === undefined ? DEFAULTS.maxKeyBytes : parseInt10(g.maxKeyBytes, `${at} maxKeyBytes`, 1, 65535),
    origin,
  };
  if (origin.type === 'http' && origin.timeout !== undefined && g.loadTimeout !== undefined) {
    throw new ConfigError(`${at}: give origin.timeout or loadTimeout, not both (they are the same deadline)`);
  }
  if (gc.loadTimeout < 1) throw new ConfigError(`${at} loadTimeout: must be positive`);
  if (g.maxValueBytes !== undefined) {
    const mv = parseBytes(g.maxValueBytes, `${at} maxValueBytes`);
    if (mv < 1 || mv > maxValueBytes) throw new ConfigError(`${at} maxValueBytes: 1..${maxValueBytes} (the node's maxValueBytes)`);
    gc.maxValueBytes = mv;
  }
  if (g.hotCacheFraction !== undefined) {
    const f = g.hotCacheFraction;
    asConfigError(() => checkHotCacheFraction(f), at);
    gc.hotCacheFraction = f as number;
  }
  if (g.fallbackToLocalLoad !== undefined) {
    if (typeof g.fallbackToLocalLoad !== 'boolean') throw new ConfigError(`${at} fallbackToLocalLoad: true or false`);
    gc.fallbackToLocalLoad = g.fallbackToLocalLoad;
  }
  return gc;
}

function parseOriginObject(o: Raw, at: string): OriginConfig {
  switch (o.type) {
    case 'none':
      return { type: 'none' };
    case 'http': {
      if (typeof o.url !== 'string' || !/^https?:\/\//i.test(o.url)) throw new ConfigError(`${at}: url must be an http(s):// URL template`);
      const r: OriginConfig = { type: 'http', url: o.url };
      if (o.notFoundStatuses !== undefined) {
        if (!Array.isArray(o.notFoundStatuses) || o.notFoundStatuses.some((s) => !Number.isInteger(s) || s < 100 || s > 599)) {
          throw new ConfigError(`${at}: notFoundStatuses must be a list of HTTP status codes`);
        }
        r.notFoundStatuses = o.notFoundStatuses as number[];
      }
      if (o.headers !== undefined) {
        if (!isObject(o.headers) || Object.values(o.headers).some((v) => typeof v !== 'string')) {
          throw new ConfigError(`${at}: headers must be a map of strings`);
        }
        r.headers = o.headers as Record<string, string>;
      }
      if (o.timeout !== undefined) r.timeout = parseDuration(o.timeout, `${at} timeout`);
      return r;
    }
    case 'dir':
      if (typeof o.path !== 'string' || o.path === '') throw new ConfigError(`${at}: path (a directory) is required`);
      return { type: 'dir', path: o.path };
    case 'module':
      if (typeof o.path !== 'string' || o.path === '') throw new ConfigError(`${at}: path (a JS module) is required`);
      return { type: 'module', path: o.path, ...(o.options !== undefined ? { options: o.options } : {}) };
    default:
      throw new ConfigError(`${at}: type must be none, http, dir or module`);
  }
}

function checkReadable(path: string, what: string): void {
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The config as JSON for `--print-config` and /v1/stats (secrets redacted). */
export function redactedConfig(cfg: NodeConfig): unknown {
  const copy = JSON.parse(JSON.stringify(cfg)) as Raw;
  const http = copy.http as Raw;
  if (http.authToken !== undefined) http.authToken = '<redacted>';
  redactClusterSettings(copy as { http?: Record<string, unknown> });
  const etcd = copy.etcd as Raw | undefined;
  if (etcd?.password !== undefined) etcd.password = '<redacted>';
  const tls = etcd?.tls as Raw | undefined;
  if (tls?.key !== undefined) tls.key = '<redacted>';
  for (const g of copy.groups as Raw[]) {
    const o = g.origin as Raw;
    if (o.headers) o.headers = Object.fromEntries(Object.keys(o.headers as Raw).map((k) => [k, '<redacted>']));
  }
  return copy;
}

/** The host peers and clients should dial. */
export function advertiseHostOf(cfg: NodeConfig): string {
  if (cfg.advertiseHost) return cfg.advertiseHost;
  const h = cfg.grpc.host;
  return h === '0.0.0.0' || h === '::' || h === '' ? hostname() : h;
}

export { formatHostPort };

/** Run a check of a lower layer (the one source of the rule) and report its failure as a ConfigError. */
function asConfigError(check: () => void, what: string): void {
  try {
    check();
  } catch (err) {
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
}
