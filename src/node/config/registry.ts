/**
 * Metadata the schema carries for the command line: which settings have a flag (and so an
 * ARENACACHE_* variable), its placeholder, and the default as `--help` shows it. The help text is
 * the field's description (`.describe()`), which also ends up in the JSON Schema for editors.
 */
import { z } from 'zod';

export interface FlagMeta {
  /** `--name` on the command line; the env variable is derived from it (see envName). */
  flag: string;
  /** `--flag PLACEHOLDER` in --help (none for boolean flags). */
  placeholder?: string;
  /** The default as --help shows it, when the schema has none or it depends on other settings. */
  defaultText?: string;
}

export const flags = z.registry<FlagMeta>();

/** Describe a field (help text, JSON Schema description) and, with `flag`, give it a flag and an env variable. */
export function field<T extends z.ZodType>(schema: T, help: string, flag?: FlagMeta): T {
  const described = schema.describe(help) as T;
  if (flag) flags.add(described, flag);
  return described;
}
