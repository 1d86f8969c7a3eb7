/** The node people run, as a library: embed a node in your own process. */
export { NodeServer, type NodeServerOptions, type NodeState } from './server.js';
export {
  loadConfig,
  parseBytes,
  parseDuration,
  parsePeers,
  originSpecToObject,
  redactedConfig,
  configJsonSchema,
  ConfigError,
  SERVE_FLAGS,
  nodeSchema,
  type NodeConfig,
  type GroupConfig,
  type OriginConfig,
} from './config/index.js';
export { createLoader, expandTemplate, OriginError, type ModuleLoadContext } from './origins.js';
export { NodeMetrics } from './metrics.js';
export { createLogger, type Logger } from './logger.js';
