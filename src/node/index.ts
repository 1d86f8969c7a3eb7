/** The node people run, as a library: embed a node in your own process. */
export { NodeServer, parsePeers, type NodeServerOptions, type NodeState } from './server.js';
export {
  loadConfig,
  parseBytes,
  parseDuration,
  parseOriginSpec,
  redactedConfig,
  ConfigError,
  SERVE_FLAGS,
  DEFAULTS,
  type NodeConfig,
  type GroupConfig,
  type OriginConfig,
} from './config.js';
export { createLoader, expandTemplate, OriginError, type ModuleLoadContext } from './origins.js';
export { NodeMetrics } from './metrics.js';
export { createLogger, type Logger } from './logger.js';
