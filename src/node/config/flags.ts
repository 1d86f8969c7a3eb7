/**
 * The flag table of `arenacache serve`, derived from the schema: every field registered with a flag
 * (registry.ts) becomes `--flag` and `ARENACACHE_FLAG`, at its dotted path in the config
 * (`group.` = the default group). Nothing here lists flags by hand.
 */
import type { z } from 'zod';
import { flags as flagRegistry, type FlagMeta } from './registry.js';
import { CONFIG_FLAG, groupSchema, nodeSchema } from './schema.js';
import { envName } from './names.js';
import { fieldKinds, type FieldKind } from './units.js';

export interface FlagSpec {
  /** `--name`. */
  name: string;
  /** `ARENACACHE_NAME`. */
  env: string;
  /** Dotted path in the config (`group.` = the default group); '' for --config. */
  path: string;
  kind: FieldKind;
  placeholder?: string;
  /** The default as --help shows it. */
  default?: string;
  help: string;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; defaultValue?: unknown };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Visit every field of an object schema (recursing into nested objects), with its wrapper chain. */
export function walkFields(
  schema: z.ZodType,
  visit: (path: string, chain: z.ZodType[]) => void,
  prefix = '',
): void {
  const shape = defOf(schema).shape;
  if (!shape) return;
  for (const [key, child] of Object.entries(shape)) {
    const path = prefix + key;
    const chain: z.ZodType[] = [];
    let cur: z.ZodType | undefined = child;
    while (cur) {
      chain.push(cur);
      const d = defOf(cur);
      if (d.type === 'object') {
        walkFields(cur, visit, path + '.');
        break;
      }
      cur = d.type === 'optional' || d.type === 'default' || d.type === 'prefault' || d.type === 'nullable' ? d.innerType : undefined;
    }
    visit(path, chain);
  }
}

/** What the field chain says about a flag: its metadata, kind, default and help. */
function describeChain(chain: z.ZodType[]): { meta?: FlagMeta; kind: FieldKind; def?: unknown; help: string } {
  let meta: FlagMeta | undefined;
  let kind: FieldKind = 'string';
  let def: unknown;
  let help = '';
  for (const s of chain) {
    meta ??= flagRegistry.get(s);
    kind = fieldKinds.get(s)?.kind ?? kind;
    const d = defOf(s);
    if ((d.type === 'default' || d.type === 'prefault') && def === undefined) def = d.defaultValue;
    help ||= s.description ?? '';
  }
  return { meta, kind, def, help };
}

function formatDefault(v: unknown): string | undefined {
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return undefined;
  if (typeof v === 'object') return undefined;
  return String(v);
}

function collect(): FlagSpec[] {
  const out: FlagSpec[] = [
    { name: CONFIG_FLAG.flag, env: envName(CONFIG_FLAG.flag), path: '', kind: 'file', placeholder: CONFIG_FLAG.placeholder, help: CONFIG_FLAG.help },
  ];
  const visit = (path: string, chain: z.ZodType[]): void => {
    const { meta, kind, def, help } = describeChain(chain);
    if (!meta) return;
    const dflt = meta.defaultText ?? formatDefault(def);
    out.push({
      name: meta.flag,
      env: envName(meta.flag),
      path,
      kind,
      ...(meta.placeholder ? { placeholder: meta.placeholder } : {}),
      ...(dflt !== undefined ? { default: dflt } : {}),
      help,
    });
  };
  walkFields(nodeSchema, visit);
  walkFields(groupSchema, visit, 'group.');
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.name)) throw new Error(`config schema: flag --${f.name} is declared twice`);
    seen.add(f.name);
  }
  return out;
}

/** Every flag of `arenacache serve` (besides --help, --print-config and --print-config-schema). */
export const SERVE_FLAGS: readonly FlagSpec[] = collect();

/** Paths of the file-path fields, for resolving them against the right directory. */
export function filePaths(): string[] {
  const out: string[] = [];
  walkFields(nodeSchema, (path, chain) => {
    if (describeChain(chain).kind === 'file') out.push(path);
  });
  return out;
}
