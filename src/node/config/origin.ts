/**
 * A group's origin, in the config file as an object (`{type: http, url: ...}`) or anywhere as the
 * short form `--origin` takes: `none`, `http(s)://host/path/{key}`, `dir:PATH`, `module:FILE`.
 */
import { z } from 'zod';
import { GROUP_OPTION_RULES } from '../../cluster/group-options.js';
import { field } from './registry.js';
import { strict } from './strict.js';
import { duration } from './units.js';

/** `{key}` = the key percent-encoded, `{path}` = the key with `/` kept, `{group}` = the group name. */
export const URL_KEY_PLACEHOLDERS = ['{key}', '{path}'] as const;

const httpOrigin = strict({
  type: z.literal('http'),
  url: field(
    z
      .string()
      .regex(/^https?:\/\/[^/]/i, 'url must be an http:// or https:// URL template')
      .refine((u) => URL_KEY_PLACEHOLDERS.some((p) => u.includes(p)), {
        message: 'url must contain {key} (or {path}): without it every key loads the same URL',
      }),
    'URL template: {key} = the key percent-encoded, {path} = the key with / kept, {group} = the group name',
  ),
  notFoundStatuses: field(
    z.array(z.number().int().min(100).max(599), { error: 'expected a list of HTTP status codes' }).optional(),
    'origin statuses that mean "this key does not exist" (default [404, 410])',
  ),
  headers: field(z.record(z.string(), z.string(), { error: 'expected a map of header names to strings' }).optional(), 'extra request headers (e.g. an API token)'),
  timeout: field(duration(GROUP_OPTION_RULES.loadTimeout).optional(), "deadline of one request: the group's loadTimeout (give one or the other)"),
});

const originObject = z.discriminatedUnion(
  'type',
  [
    strict({ type: z.literal('none') }),
    httpOrigin,
    strict({ type: z.literal('dir'), path: field(z.string().min(1, 'path (a directory) is required'), 'directory holding one file per key') }),
    strict({
      type: z.literal('module'),
      path: field(z.string().min(1, 'path (a JS module) is required'), 'ES module (or CommonJS) file exporting load(key, ctx)'),
      options: field(z.unknown().optional(), 'passed to load() as ctx.options ({} when absent)'),
    }),
  ],
  { error: 'origin type must be none, http, dir or module' },
);

/** `none` | `http(s)://…` | `dir:PATH` | `module:FILE` → the object form (validated by the object schema). */
export function originSpecToObject(spec: string): Record<string, unknown> {
  const s = spec.trim();
  if (s === '' || s === 'none') return { type: 'none' };
  if (/^https?:\/\//i.test(s)) return { type: 'http', url: s };
  if (s.startsWith('dir:')) return { type: 'dir', path: s.slice(4) };
  if (s.startsWith('module:')) return { type: 'module', path: s.slice(7) };
  throw new RangeError(`expected none, an http(s):// URL template, dir:PATH or module:FILE, got ${JSON.stringify(spec)}`);
}

const originString = z.string().transform((s, ctx) => {
  try {
    return originSpecToObject(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message, input: s });
    return z.NEVER;
  }
});

export const originSchema = z.union([originString.pipe(originObject), originObject], { error: 'expected an origin: a string like dir:PATH or an object with a type' });

export type OriginConfig = z.output<typeof originObject>;
