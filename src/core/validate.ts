/**
 * Argument rules of the core host, in one place. Every public method of ArenaCache checks all its
 * arguments with these before it writes anything or calls the core, so bad input throws a
 * TypeError (wrong type) or RangeError (out of range, naming the limit) and changes nothing.
 */
import { entryCost, entryHeaderOf, type PolicyName } from './abi.js';
import { utf8Length } from './codec.js';
import type { FetchOptions } from './types.js';

/** A short description of a value for error messages: `null`, `number 1.5`, `Uint16Array`, ... */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  if (typeof v === 'string') return `string of length ${v.length}`;
  if (typeof v === 'function') return 'function';
  return `${typeof v} ${String(v)}`;
}

/**
 * The name of an argument in a message: `name`, or `name index` for an element of a list. Rules
 * take the two apart so that no string is built unless a check fails (batches check every key).
 */
function label(name: string, index: number): string {
  return index < 0 ? name : `${name} ${index}`;
}

export function checkInteger(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** A TTL in milliseconds: a finite number >= 0 (0 = never expires). */
export function checkTtl(name: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number of milliseconds, got ${describe(v)}`);
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number of milliseconds >= 0, got ${v}`);
  return v;
}

export function checkObject(name: string, v: unknown): void {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${name} must be an object, got ${describe(v)}`);
}

export function checkOptionalFunction(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'function') throw new TypeError(`${name} must be a function, got ${describe(v)}`);
}

export function checkOptionalBoolean(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
}

/**
 * The `options` of set/setMany (`owner` names the call or the entry): undefined or `{ ttl? }`.
 * Returns the TTL for the core (-1 = the cache's default).
 */
export function setOptionsTtl(owner: string, index: number, options: unknown): number {
  if (options === undefined) return -1;
  if (typeof options !== 'object' || options === null) checkObject(`${label(owner, index)} options`, options);
  const ttl = (options as { ttl?: unknown }).ttl;
  return ttl === undefined ? -1 : checkTtl(`${label(owner, index)} options.ttl`, ttl);
}

export function keyTooLong(name: string, bytes: number, maxKeyBytes: number): RangeError {
  return new RangeError(`${name} is ${bytes} bytes; maxKeyBytes is ${maxKeyBytes}`);
}

/**
 * A key is a string (stored as its UTF-8 bytes) or a Uint8Array of at most `maxKeyBytes` bytes.
 * A string needs at most 3 bytes per UTF-16 unit, so short strings are accepted without encoding.
 */
export function checkKey(name: string, index: number, key: unknown, maxKeyBytes: number): void {
  if (typeof key === 'string') {
    if (key.length * 3 <= maxKeyBytes) return;
    const bytes = utf8Length(key);
    if (bytes > maxKeyBytes) throw keyTooLong(label(name, index), bytes, maxKeyBytes);
    return;
  }
  if (key instanceof Uint8Array) {
    if (key.length > maxKeyBytes) throw keyTooLong(label(name, index), key.length, maxKeyBytes);
    return;
  }
  throw new TypeError(`${label(name, index)} must be a string or a Uint8Array, got ${describe(key)}`);
}

export function checkValueType(name: string, index: number, value: unknown): void {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new TypeError(`${label(name, index)} must be a Uint8Array or a string, got ${describe(value)}`);
  }
}

/** The byte length of a key or value already checked to be a string or a Uint8Array. */
export function bytesOf(x: string | Uint8Array): number {
  return typeof x === 'string' ? utf8Length(x) : x.length;
}

/** What an arena accepts: its largest value, and the most one entry may cost under its policy. */
export interface EntryLimits {
  readonly policy: PolicyName;
  readonly maxValueBytes: number;
  readonly entryLimit: number;
}

/** An entry is accepted iff its value is at most maxValueBytes and its cost fits one segment's limit. */
export function checkEntry(name: string, index: number, keyBytes: number, valueBytes: number, limits: EntryLimits): void {
  if (valueBytes > limits.maxValueBytes) {
    throw new RangeError(`${label(name, index)}: value is ${valueBytes} bytes; maxValueBytes is ${limits.maxValueBytes}`);
  }
  const cost = entryCost(limits.policy, keyBytes, valueBytes);
  if (cost > limits.entryLimit) {
    throw new RangeError(
      `${label(name, index)}: entry costs ${cost} bytes (${entryHeaderOf(limits.policy)} B header + ${keyBytes} B key + ${valueBytes} B value, 4-aligned); ` +
        `one segment takes entries of at most ${limits.entryLimit} bytes`,
    );
  }
}

/** getInto's target and offset: a Uint8Array, and an integer offset in [0, target.length]. */
export function checkTarget(target: unknown, offset: unknown): void {
  if (!(target instanceof Uint8Array)) throw new TypeError(`getInto: target must be a Uint8Array, got ${describe(target)}`);
  checkInteger('getInto: offset', offset, 0, target.length);
}

/**
 * A snapshot source: bytes (where `bytes`), an iterable or async iterable of chunks (a Node
 * Readable is one), or (where `opener`) a function returning one. Strings are refused.
 */
export function checkSnapshotSource(name: string, source: unknown, kinds: { bytes: boolean; opener: boolean }): void {
  if (source instanceof Uint8Array) {
    if (kinds.bytes) return;
    throw new TypeError(`${name}: takes a stream of chunks${kinds.opener ? ' or a function opening one' : ''}; use load for one Uint8Array`);
  }
  if (typeof source === 'function' && kinds.opener) return;
  if (typeof source === 'object' && source !== null && (Symbol.iterator in source || Symbol.asyncIterator in source)) return;
  const what = [kinds.bytes ? 'a Uint8Array' : '', 'an iterable or async iterable of Uint8Array chunks', kinds.opener ? 'a function returning one' : '']
    .filter((x) => x !== '').join(', or ');
  throw new TypeError(`${name}: the snapshot must be ${what}; got ${describe(source)}`);
}

/** fetch's options: undefined or an object; every field checked. */
export function checkFetchOptions(options: unknown): FetchOptions {
  if (options === undefined) return {};
  checkObject('fetch: options', options);
  const o = options as FetchOptions;
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError(`fetch: options.signal must be an AbortSignal, got ${describe(o.signal)}`);
  if (o.ttl !== undefined) checkTtl('fetch: options.ttl', o.ttl);
  checkOptionalBoolean('fetch: options.allowStale', o.allowStale);
  checkOptionalBoolean('fetch: options.forceRefresh', o.forceRefresh);
  return { signal: o.signal, ttl: o.ttl, allowStale: o.allowStale, forceRefresh: o.forceRefresh, context: o.context };
}
