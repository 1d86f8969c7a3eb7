/**
 * Keys travel as `bytes` (UTF-8). Callers hold them as strings; writing the string straight into
 * the message saves the Buffer.from(key) per key that the dynamic codec needed.
 */
import { stringBytes } from './writer.js';
import type { WireKey } from './messages.js';

export function keyBytes(key: WireKey): number {
  return typeof key === 'string' ? stringBytes(key) : key.length;
}
