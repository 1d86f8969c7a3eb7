/**
 * THE configuration of a node, defined once. Types (z.output), defaults, the flag table and env
 * names (registry.ts metadata → flags.ts), `--help` (help.ts) and the JSON Schema for editors
 * (json-schema.ts) are all derived from this file; loading (load.ts) parses one merged object
 * (file ← env ← flags) through it.
 *
 * To add a setting: add a field here with `field(schema, help, { flag, placeholder })`. That is the
 * whole change: the flag, its ARENACACHE_* variable, --help, --print-config-schema and the
 * unknown-key checks follow. A rule that links several settings goes in rules.ts.
 */
import { z } from 'zod';
import { BREAKER_DEFAULTS, CLUSTER_DEFAULTS, CLUSTER_OPTION_RULES, DEFAULT_MAX_VALUE_BYTES } from '../../cluster/cluster-options.js';
import { GROUP_DEFAULTS, GROUP_OPTION_RULES } from '../../cluster/group-options.js';
import { checkNodeId, GROUP_NAME_RE } from '../../cluster/validate.js';
import { DNS_DEFAULTS } from '../../discovery/dns.js';
import { ETCD_DEFAULTS, ETCD_OPTION_RULES } from '../../discovery/etcd/options.js';
import { serviceDir } from '../../discovery/record.js';
import { MIN_SECRET_BYTES } from '../../transport/auth.js';
import { BATCH_DEFAULTS, BATCH_OPTION_RULES } from '../../transport/batch-options.js';
import { GRPC_TRANSPORT_DEFAULTS } from '../../transport/grpc-transport.js';
import { originSchema } from './origin.js';
import { field } from './registry.js';
import { strict } from './strict.js';
import { bool, bytes, duration, file, formatBytes, formatDuration, integer, list, text } from './units.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DEFAULT_GROUP = 'default';
/** The smallest group a node serves: 16 segments need room for their indexes. */
export const MIN_GROUP_BYTES = 64 * 1024;

const port = () => integer(z.number().int().min(0, 'expected a port in 0..65535').max(65535, 'expected a port in 0..65535'));
const ms = (rule = z.number().int().min(0)) => duration(rule);
const nodeId = text().refine((id) => {
  try {
    checkNodeId(id);
    return true;
  } catch {
    return false;
  }
}, "not a valid node id (non-empty, no '/', no surrounding spaces)");

// ----------------------------------------------------------------------------- groups

const groupBody = {
  maxBytes: field(
    bytes(GROUP_OPTION_RULES.maxBytes.min(MIN_GROUP_BYTES, 'must be at least 64KiB')).prefault('64MiB'),
    'byte budget of the group (main + hot cache)',
    { flag: 'max-bytes', placeholder: 'SIZE' },
  ),
  ttl: field(ms(GROUP_OPTION_RULES.ttl).prefault(GROUP_DEFAULTS.ttl), 'TTL of loaded and set values (0 = none)', {
    flag: 'ttl',
    placeholder: 'DURATION',
  }),
  notFoundTtl: field(ms(GROUP_OPTION_RULES.notFoundTtl).optional(), 'how long "not found" from the origin is remembered', {
    flag: 'not-found-ttl',
    placeholder: 'DURATION',
    defaultText: `${GROUP_DEFAULTS.notFoundTtl}ms; 0 with no origin`,
  }),
  loadTimeout: field(ms(GROUP_OPTION_RULES.loadTimeout).optional(), 'deadline of one origin load (504 past it)', {
    flag: 'load-timeout',
    placeholder: 'DURATION',
    defaultText: `${GROUP_DEFAULTS.loadTimeout}ms`,
  }),
  maxKeyBytes: field(integer(GROUP_OPTION_RULES.maxKeyBytes).prefault(GROUP_DEFAULTS.maxKeyBytes), 'longest key in UTF-8 bytes'),
  maxValueBytes: field(bytes(GROUP_OPTION_RULES.maxValueBytes).optional(), "largest value (default and cap: the node's maxValueBytes)"),
  hotCacheFraction: field(GROUP_OPTION_RULES.hotCacheFraction.optional(), `share of maxBytes for values fetched from other owners (default ${GROUP_DEFAULTS.hotCacheFraction})`),
  fallbackToLocalLoad: field(bool().optional(), 'owner unreachable: load here (true, the default) or fail with 503'),
  origin: field(originSchema.prefault('none'), 'where misses are loaded from: none | http(s)://host/{key} | dir:PATH | module:FILE', {
    flag: 'origin',
    placeholder: 'ORIGIN',
  }),
};

const groupName = z.string({ error: 'expected a group name' }).regex(GROUP_NAME_RE, 'expected 1..64 of [A-Za-z0-9_.-], starting with a letter or digit');

export const groupSchema = strict({ name: field(groupName, 'group name'), ...groupBody });
const groupsSchema = z.union([z.array(groupSchema), z.record(groupName, strict(groupBody))], {
  error: 'expected a list of groups or a map of name to group',
});

// ----------------------------------------------------------------------------- sections

const tlsSchema = strict({
  certFile: field(file().optional(), "peer gRPC over TLS: this node's PEM certificate (server and client; SAN = the host peers dial)", {
    flag: 'tls-cert',
    placeholder: 'FILE',
  }),
  keyFile: field(file().optional(), 'PEM private key of --tls-cert', { flag: 'tls-key', placeholder: 'FILE' }),
  caFile: field(file().optional(), "PEM CA bundle that signed the peers' certificates (default: the system roots)", {
    flag: 'tls-ca',
    placeholder: 'FILE',
  }),
  mutual: field(bool().optional(), 'mutual TLS: peers must present a certificate signed by --tls-ca (env: true/false)', { flag: 'tls-mutual' }),
  serverName: field(text().optional(), "name to verify in peers' certificates instead of the host they are dialed at", {
    flag: 'tls-server-name',
    placeholder: 'NAME',
  }),
});

/** How fetches from one peer are coalesced (transport/batch-options.ts has the rules and defaults). */
const batchSchema = strict({
  windowUs: field(
    integer(BATCH_OPTION_RULES.windowUs).prefault(BATCH_DEFAULTS.windowUs),
    'while a peer has a batch in flight, how long (µs) a new batch gathers keys before it goes (0 = the end of the event-loop turn); an idle peer never waits',
    { flag: 'batch-window-us', placeholder: 'MICROSECONDS' },
  ),
  maxKeys: field(integer(BATCH_OPTION_RULES.maxKeys).prefault(BATCH_DEFAULTS.maxKeys), 'most keys in one batch to a peer (a full batch goes at once)', {
    flag: 'batch-max-keys',
    placeholder: 'N',
  }),
  maxBytes: field(
    bytes(BATCH_OPTION_RULES.maxBytes).prefault(formatBytes(BATCH_DEFAULTS.maxBytes)),
    'most key + expected value bytes in one batch to a peer (bounds the answer too)',
    { flag: 'batch-max-bytes', placeholder: 'SIZE' },
  ),
});

const grpcSchema = strict({
  host: field(text().prefault('127.0.0.1'), 'interface the peer gRPC server binds', { flag: 'grpc-host', placeholder: 'HOST' }),
  port: field(port().prefault(7070), 'peer gRPC port (0 = any free port)', { flag: 'grpc-port', placeholder: 'PORT' }),
  tls: field(tlsSchema.optional(), 'TLS / mutual TLS between nodes (omit for plaintext)'),
  batch: field(batchSchema.prefault({}), 'coalescing of fetches from each peer'),
  stream: field(
    bool().prefault(GRPC_TRANSPORT_DEFAULTS.stream),
    'fetch from each peer over one long-lived stream (true) or with one unary GetMany call per batch (false)',
  ),
});

const httpSchema = strict({
  host: field(text().prefault('127.0.0.1'), 'interface the HTTP API binds', { flag: 'http-host', placeholder: 'HOST' }),
  port: field(port().prefault(7080), 'HTTP API port (0 = any free port)', { flag: 'http-port', placeholder: 'PORT' }),
  authToken: field(text().optional(), 'require "Authorization: Bearer TOKEN" for PUT and DELETE', { flag: 'auth-token', placeholder: 'TOKEN' }),
  readToken: field(
    text().refine((t) => t.trim() === t, 'must not start or end with a space (got one that does; not shown)').optional(),
    'require "Authorization: Bearer TOKEN" (or the --auth-token) for reads: GET, get-many, /v1/stats, /v1/members, /metrics',
    { flag: 'read-token', placeholder: 'TOKEN' },
  ),
  adminToken: field(
    text().refine((t) => t.trim() === t, 'must not start or end with a space (got one that does; not shown)').optional(),
    'require "Authorization: Bearer TOKEN" for the key listing (GET /v1/groups/{group}/keys); also accepted wherever the other tokens are',
    { flag: 'admin-token', placeholder: 'TOKEN' },
  ),
});

/**
 * How peers authenticate and how long a node waits for them (docs/cluster.md: Peer authentication,
 * Hung peers). Defaults and rules are the cluster's (cluster/cluster-options.ts); the secret's
 * rules are the transport's (transport/auth.ts, checked with the other settings in rules.ts).
 */
const clusterSchema = strict({
  secretFile: field(file().optional(), `file with the shared secret (>= ${MIN_SECRET_BYTES} bytes) every peer gRPC call must carry; authenticates peers without mutual TLS`, {
    flag: 'cluster-secret-file',
    placeholder: 'FILE',
  }),
  insecurePeers: field(bool().prefault(false), 'serve peer gRPC on a non-loopback --grpc-host without mutual TLS or a cluster secret (anyone reaching the port can write)', {
    flag: 'insecure-peers',
  }),
  ownerTimeout: field(
    ms(CLUSTER_OPTION_RULES.ownerTimeout).prefault(formatDuration(CLUSTER_DEFAULTS.ownerTimeout)),
    'longest a get waits for a key owner that answers nothing before loading the key itself',
    { flag: 'owner-timeout', placeholder: 'DURATION' },
  ),
  breakerFailures: field(
    integer(CLUSTER_OPTION_RULES.breakerFailures).prefault(BREAKER_DEFAULTS.failures),
    'calls a peer misses in a row before it is suspect (its keys are then loaded locally)',
    { flag: 'breaker-failures', placeholder: 'N' },
  ),
  breakerHalfOpen: field(
    ms(CLUSTER_OPTION_RULES.breakerHalfOpenMs).prefault(formatDuration(BREAKER_DEFAULTS.halfOpenAfterMs)),
    'how long a suspect peer is left alone before one probe call',
    { flag: 'breaker-half-open', placeholder: 'DURATION' },
  ),
});

const etcdTlsSchema = strict({
  caFile: field(file().optional(), 'etcd over TLS: PEM CA bundle of the etcd servers (endpoints default to https://)', {
    flag: 'etcd-ca',
    placeholder: 'FILE',
  }),
  certFile: field(file().optional(), 'etcd client certificate (PEM), for etcd --client-cert-auth; with --etcd-key', {
    flag: 'etcd-cert',
    placeholder: 'FILE',
  }),
  keyFile: field(file().optional(), 'PEM private key of --etcd-cert', { flag: 'etcd-key', placeholder: 'FILE' }),
  ca: field(text().optional(), 'inline PEM instead of caFile'),
  cert: field(text().optional(), 'inline PEM instead of certFile'),
  key: field(text().optional(), 'inline PEM instead of keyFile'),
});

const etcdService = text().refine((s) => {
  try {
    serviceDir('/', s);
    return true;
  } catch {
    return false;
  }
}, "expected a non-empty service name without '/'");

const etcdSchema = strict({
  endpoints: field(list().prefault([]), 'etcd endpoints (comma-separated): register and discover through etcd', {
    flag: 'etcd',
    placeholder: 'URLS',
  }),
  prefix: field(text().prefault(ETCD_DEFAULTS.prefix), 'etcd key prefix', { flag: 'etcd-prefix', placeholder: 'PREFIX' }),
  service: field(etcdService.prefault(ETCD_DEFAULTS.service), 'cluster name: nodes only see nodes of the same service', {
    flag: 'etcd-service',
    placeholder: 'NAME',
  }),
  leaseTtlSeconds: field(
    integer(ETCD_OPTION_RULES.leaseTtlSeconds).prefault(ETCD_DEFAULTS.leaseTtlSeconds),
    `lease TTL: a crashed node leaves the ring after about this long (>= ${ETCD_DEFAULTS.minLeaseTtlSeconds})`,
    { flag: 'etcd-lease-ttl', placeholder: 'SECONDS' },
  ),
  startTimeoutMs: field(ms().prefault(formatDuration(ETCD_DEFAULTS.startTimeoutMs)), 'give up starting (exit 1) when etcd is not reachable for this long (0 = wait forever)', {
    flag: 'etcd-start-timeout',
    placeholder: 'DURATION',
  }),
  outageSummaryMs: field(ms(z.number().int().positive()).prefault('30s'), 'while etcd is unreachable, one summary warning this often (the outage itself is logged once)'),
  dialTimeoutMs: field(ms(z.number().int().positive()).optional(), `deadline of a call while etcd is not known reachable (default ${formatDuration(ETCD_DEFAULTS.dialTimeoutMs)})`),
  callTimeoutMs: field(ms(z.number().int().positive()).optional(), `deadline of each unary etcd call (default ${formatDuration(ETCD_DEFAULTS.callTimeoutMs)})`),
  debounceMs: field(ms().optional(), `membership publication debounce (default ${formatDuration(ETCD_DEFAULTS.debounceMs)})`),
  tls: field(etcdTlsSchema.optional(), 'TLS to etcd'),
  username: field(text().optional(), 'etcd user (needs readwrite on the prefix); with --etcd-password-file', {
    flag: 'etcd-user',
    placeholder: 'NAME',
  }),
  password: field(text().optional(), 'etcd password inline (prefer passwordFile)'),
  passwordFile: field(file().optional(), "file holding the etcd user's password (trailing newline ignored)", {
    flag: 'etcd-password-file',
    placeholder: 'FILE',
  }),
});

const dnsSchema = strict({
  name: field(text().optional(), 'discover peers in DNS: resolve NAME (A/AAAA; SRV if it starts with _) every interval, members = the answers (a Kubernetes headless Service)', {
    flag: 'peers-dns',
    placeholder: 'NAME[:PORT]',
  }),
  intervalMs: field(ms(z.number().int().min(100, 'must be at least 100ms')).prefault(formatDuration(DNS_DEFAULTS.intervalMs)), 'how often --peers-dns is resolved', {
    flag: 'peers-dns-interval',
    placeholder: 'DURATION',
  }),
  servers: field(list().prefault([]), 'DNS servers for --peers-dns, comma-separated host or host:port (default: the system resolver)', {
    flag: 'peers-dns-server',
    placeholder: 'HOST[:PORT]',
  }),
});

// ----------------------------------------------------------------------------- the node

export const nodeSchema = strict({
  $schema: field(z.string().optional(), 'the JSON Schema of this file (arenacache serve --print-config-schema), for editors'),
  id: field(nodeId.optional(), 'node id, unique in the cluster', {
    flag: 'id',
    placeholder: 'ID',
    defaultText: '<advertise-host>:<grpc-port>',
  }),
  grpc: field(grpcSchema.prefault({}), 'peer gRPC server'),
  http: field(httpSchema.prefault({}), 'HTTP API server'),
  advertiseHost: field(text().optional(), 'host peers dial (default: the bind host; the hostname when binding 0.0.0.0)', {
    flag: 'advertise-host',
    placeholder: 'HOST',
  }),
  peers: field(list().prefault([]), 'static membership: comma-separated id=host:port or host:port (self is added)', {
    flag: 'peers',
    placeholder: 'LIST',
  }),
  etcd: field(etcdSchema.optional(), 'etcd registration and discovery (omit for static membership)'),
  dns: field(dnsSchema.prefault({}), 'DNS discovery (--peers-dns): no etcd needed'),
  cluster: field(clusterSchema.prefault({}), 'peer authentication, owner deadline and per-peer breaker'),
  maxValueBytes: field(bytes(CLUSTER_OPTION_RULES.maxValueBytes).prefault(formatBytes(DEFAULT_MAX_VALUE_BYTES)), 'largest value any group accepts (413 above it); lower for a group whose cache segment holds less', {
    flag: 'max-value-bytes',
    placeholder: 'SIZE',
  }),
  dataDir: field(
    file().optional(),
    "warm restart: write each group's snapshot here on a graceful shutdown, restore it on start (static membership only)",
    { flag: 'data-dir', placeholder: 'DIR' },
  ),
  shutdownTimeout: field(ms().prefault('10s'), 'bound on a graceful shutdown (in-flight requests)', {
    flag: 'shutdown-timeout',
    placeholder: 'DURATION',
  }),
  drainDelay: field(ms().prefault(0), 'on shutdown, keep accepting requests this long after readyz turns 503 (for load balancers)', {
    flag: 'drain-delay',
    placeholder: 'DURATION',
  }),
  logLevel: field(z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).prefault('info'), LOG_LEVELS.join(' | '), {
    flag: 'log-level',
    placeholder: 'LEVEL',
  }),
  groups: field(groupsSchema.optional(), 'cache groups: a list, or a map of name to settings'),
  defaultGroup: field(z.boolean({ error: 'expected true or false' }).optional(), 'false drops the built-in "default" group'),
});

/** The command-line-only options of `serve` (not settings): they have flags but no config path. */
export const CONFIG_FLAG = { flag: 'config', placeholder: 'FILE', help: 'JSON or YAML config file (several groups, any setting); flags and env override it' } as const;

export type ParsedNode = z.output<typeof nodeSchema>;
export type ParsedGroup = z.output<typeof groupSchema>;
