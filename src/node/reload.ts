/**
 * SIGHUP: read the configuration again (the file; flags and the environment cannot change) and
 * apply what a running node can change without a restart — the log level. Other changes are
 * listed in a warning ("needs a restart") and left alone; an invalid file is reported and ignored.
 * The node keeps running in every case.
 */
import { ConfigError, loadConfig, redactedConfig, type ConfigSources, type NodeConfig } from './config/index.js';
import type { Logger } from './logger.js';

/** Settings SIGHUP applies; everything else needs a restart. */
export const RELOADABLE = ['logLevel'] as const;

export function reloadConfig(current: NodeConfig, sources: ConfigSources, logger: Logger): NodeConfig {
  let next: NodeConfig;
  try {
    next = loadConfig(sources);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    logger.error({ signal: 'SIGHUP', err: message }, 'configuration not reloaded: it is invalid; running on unchanged');
    return current;
  }
  const before = redactedConfig(current) as Record<string, unknown>;
  const after = redactedConfig(next) as Record<string, unknown>;
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  const applied = changed.filter((k) => (RELOADABLE as readonly string[]).includes(k));
  const needRestart = changed.filter((k) => !applied.includes(k));
  if (applied.includes('logLevel')) logger.level = next.logLevel;
  logger.info({ signal: 'SIGHUP', applied, logLevel: logger.level }, 'configuration reloaded');
  if (needRestart.length > 0) {
    logger.warn({ signal: 'SIGHUP', needRestart }, 'configuration changes that need a restart were not applied');
  }
  return { ...current, logLevel: next.logLevel };
}
