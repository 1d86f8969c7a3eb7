/**
 * The node's configuration: one schema (schema.ts) and what is derived from it.
 *
 *   schema.ts       every setting, its rule, default, help and flag
 *   units.ts        sizes and durations (64MiB, 30s) and the field kinds
 *   origin.ts       a group's origin (short form and object form)
 *   registry.ts     flag metadata on schema fields     strict.ts  objects that reject unknown keys
 *   flags.ts        the flag table derived from the schema     names.ts  env names, did-you-mean
 *   env.ts          unknown ARENACACHE_* variables     issues.ts  zod issues → messages
 *   load.ts         file ← env ← flags → schema → rules.ts (settings that depend on each other)
 *   help.ts         --help     json-schema.ts  --print-config-schema
 *   redact.ts       --print-config and /v1/stats (secrets hidden; less without a token)
 *   peers.ts        static peer lists     addresses.ts  advertised host:port
 */
export { ConfigError } from './errors.js';
export { parseBytes, parseDuration } from './units.js';
export { SERVE_FLAGS, type FlagSpec } from './flags.js';
export { envName } from './names.js';
export { loadConfig, readConfigFile, type ConfigSources } from './load.js';
export { DEFAULT_GROUP, LOG_LEVELS, MIN_GROUP_BYTES, nodeSchema, groupSchema } from './schema.js';
export { originSpecToObject, type OriginConfig } from './origin.js';
export type { NodeConfig, GroupConfig, EtcdConfig, DnsConfig } from './rules.js';
export { serveHelp, SERVE_ACTIONS } from './help.js';
export { configJsonSchema } from './json-schema.js';
export { publicConfig, redactedConfig } from './redact.js';
export { parsePeers } from './peers.js';
export { advertiseHostOf, formatHostPort, isWildcard } from './addresses.js';
