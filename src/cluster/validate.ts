/**
 * Input validation shared by the public API and the gRPC server.
 */
import { InvalidArgumentError } from './errors.js';
import { utf8Length } from './hash.js';

/** Group names: 1..64 characters of A-Z a-z 0-9 `_` `-` `.`, starting with a letter or digit. */
export const GROUP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_GROUP_NAME_LENGTH = 64;

export function checkGroupName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !GROUP_NAME_RE.test(name)) {
    throw new InvalidArgumentError(
      `invalid group name ${JSON.stringify(String(name)).slice(0, 80)}: ` +
        'expected 1..64 of [A-Za-z0-9_.-], starting with a letter or digit',
    );
  }
}

/** A key: a non-empty string whose UTF-8 encoding is at most `maxKeyBytes` bytes. */
export function checkKey(key: unknown, maxKeyBytes: number): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${typeof key}`);
  if (key.length === 0) throw new InvalidArgumentError('key must not be empty');
  // Fast path: a string of n code units has at most 3n UTF-8 bytes.
  if (key.length * 3 > maxKeyBytes) {
    const n = utf8Length(key);
    if (n > maxKeyBytes) throw new InvalidArgumentError(`key is ${n} bytes, the limit is ${maxKeyBytes}`);
  }
}

/** A TTL in ms: a non-negative safe integer (0 = no expiry). */
export function checkTtl(ttl: unknown, what = 'ttl'): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer number of ms, got ${String(ttl)}`);
  }
}

/** Node ids: non-empty, no `/` (they are etcd key segments), no surrounding spaces. */
export function checkNodeId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '' || id.includes('/') || id.trim() !== id) {
    throw new InvalidArgumentError(
      `invalid node id ${JSON.stringify(String(id))}: non-empty, no '/', no surrounding spaces`,
    );
  }
}
