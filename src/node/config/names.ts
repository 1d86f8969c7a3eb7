/** Names: the env variable of a flag, and the nearest valid name for a misspelt one. */
import { closest, distance } from 'fastest-levenshtein';

export const ENV_PREFIX = 'ARENACACHE_';

/** `http-port` → `ARENACACHE_HTTP_PORT`. */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

/** ` (did you mean "port"?)` when a known name is close enough to be a typo, else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const lower = name.toLowerCase();
  const prefixed = known.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
  if (prefixed && Math.min(lower.length, prefixed.length) >= 3) return ` (did you mean ${JSON.stringify(prefixed)}?)`;
  const best = closest(name, known as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(name.toLowerCase(), best.toLowerCase()) <= limit ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  return `unknown key ${JSON.stringify(key)}${didYouMean(key, known)}; known keys: ${known.join(', ')}`;
}
