/**
 * Sizes and durations as people write them, and the schema fields that accept them (a number, or a
 * string from a flag, an environment variable or the config file).
 */
import { z } from 'zod';

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `65536`, `64MiB` (1024-based), `64MB` (1000-based), `64m` (1024-based). Throws RangeError. */
export function parseBytes(v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new RangeError(`expected a non-negative whole number of bytes, got ${v}`);
  }
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new RangeError(`expected a size like 65536, 512KiB or 64MiB, got ${JSON.stringify(v)}`);
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${JSON.stringify(v)} is too large`);
  return n;
}

/** Milliseconds: `1500`, `1500ms`, `1.5s`, `2m`, `1h`. Throws RangeError. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new RangeError(`expected a non-negative whole number of ms, got ${v}`);
  }
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/.exec(v) : null;
  if (!m) throw new RangeError(`expected a duration like 500ms, 30s, 5m or a number of ms, got ${JSON.stringify(v)}`);
  const n = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${JSON.stringify(v)} is too large`);
  return n;
}

/** A size as people write it (`8MiB`, `64KiB`, `1000`): how a default given in bytes is shown. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

/** A duration as people write it (`30s`, `1m`, `250ms`): how a default given in ms is shown. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? '0' : `${ms}ms`;
}

/** A whole number written as a number or as decimal digits. */
function parseInteger(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError(`expected a whole number, got ${JSON.stringify(v)}`);
  return n;
}

function parseBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|1|yes|on)$/i.test(v.trim())) return true;
  if (typeof v === 'string' && /^(false|0|no|off)$/i.test(v.trim())) return false;
  throw new RangeError(`expected true or false, got ${JSON.stringify(v)}`);
}

/** `a,b` or `[a, b]` → ['a', 'b'] (blank items dropped). */
function parseList(v: unknown): string[] {
  const raw = Array.isArray(v) ? v : typeof v === 'string' ? [v] : null;
  if (raw === null || raw.some((x) => typeof x !== 'string')) throw new RangeError('expected a list of strings or a comma-separated string');
  return (raw as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x.length > 0);
}

/** What a field holds, as flags and env variables see it (`bool` flags take no value). */
export type FieldKind = 'string' | 'file' | 'int' | 'bytes' | 'duration' | 'bool' | 'list';

/** Kinds of the fields built below, for the flag table and file-path resolution. */
export const fieldKinds = z.registry<{ kind: FieldKind }>();

function parsed<T extends z.ZodType>(kind: FieldKind, input: z.ZodType, parse: (v: unknown) => unknown, rule: T) {
  const field = input
    .transform((v, ctx) => {
      try {
        return parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
    })
    .pipe(rule);
  fieldKinds.add(field, { kind });
  return field;
}

const numberOrString = (what: string) => z.union([z.number(), z.string()], { error: `expected ${what}` });

/** A size: a number of bytes or `64MiB`; then `rule` (range) applies to the number. */
export const bytes = <T extends z.ZodType<number>>(rule: T) => parsed('bytes', numberOrString('a size like 64MiB'), parseBytes, rule);
/** A duration: a number of ms or `30s`; then `rule` applies to the ms. */
export const duration = <T extends z.ZodType<number>>(rule: T) =>
  parsed('duration', numberOrString('a duration like 30s'), parseDuration, rule);
/** A whole number (`"7070"` from a flag, 7070 in a file); then `rule`. */
export const integer = <T extends z.ZodType<number>>(rule: T) => parsed('int', numberOrString('a whole number'), parseInteger, rule);
export const bool = () => parsed('bool', z.union([z.boolean(), z.string()], { error: 'expected true or false' }), parseBool, z.boolean());
export const list = () =>
  parsed('list', z.union([z.array(z.string()), z.string()], { error: 'expected a list of strings' }), parseList, z.array(z.string()));

export function text(): z.ZodString {
  const s = z.string({ error: 'expected a string' });
  fieldKinds.add(s, { kind: 'string' });
  return s;
}

/** A file path: relative to the current directory in flags and env, to the config file's directory in the file. */
export function file(): z.ZodString {
  const s = z.string({ error: 'expected a file path' }).min(1, 'expected a file path');
  fieldKinds.add(s, { kind: 'file' });
  return s;
}
