/** The ARENACACHE_* environment: every variable must be one the CLI knows (a typo is an error, not a no-op). */
import { CLIENT_FLAGS } from '../client.js';
import { ConfigError } from './errors.js';
import { SERVE_FLAGS } from './flags.js';
import { didYouMean, ENV_PREFIX } from './names.js';

/** Variables `serve` reads, plus those of the client commands (often exported in the same shell). */
export function knownEnvNames(): string[] {
  return [...new Set([...SERVE_FLAGS.map((f) => f.env), ...Object.values(CLIENT_FLAGS).map((f) => f.env)])];
}

export function checkEnvNames(env: NodeJS.ProcessEnv): void {
  const known = knownEnvNames();
  const unknown = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown.map((k) => `unknown environment variable ${k}${didYouMean(k, known)}`).join('\n') +
        `\n(arenacache serve --help lists every ${ENV_PREFIX}* variable)`,
    );
  }
}
