/**
 * Loading: defaults ← config file (JSON or YAML) ← environment (ARENACACHE_*) ← flags, merged into
 * one raw object that goes through the schema once, then the cross-setting rules (rules.ts).
 * Every error names where the bad value came from; nothing is half-applied.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkEnvNames } from './env.js';
import { ConfigError } from './errors.js';
import { filePaths, SERVE_FLAGS } from './flags.js';
import { pathText, problemsOf } from './issues.js';
import { DEFAULT_GROUP, nodeSchema } from './schema.js';
import { finish, type NodeConfig } from './rules.js';

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = ['.yaml', '.yml'].includes(extname(file).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${file}: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (!isObject(data)) throw new ConfigError(`config file ${file}: expected an object at the top level`);
  return data;
}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

/** Set `path` in `obj`, creating objects on the way (a non-object in the way is left for the schema to report). */
function setPath(obj: Raw, path: string, value: unknown): boolean {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === undefined || cur[p] === null) cur[p] = {};
    if (!isObject(cur[p])) return false;
    cur = cur[p] as Raw;
  }
  cur[parts[parts.length - 1]!] = value;
  return true;
}

export interface ConfigSources {
  /** Values from flags, by flag name (strings; boolean flags as 'true'/'false'). */
  flags: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A flag/env `dir:` or `module:` origin is relative to the current directory. */
function resolveOriginSpec(spec: string, cwd: string): string {
  for (const p of ['dir:', 'module:']) if (spec.startsWith(p)) return p + resolve(cwd, spec.slice(p.length));
  return spec;
}

/** The flag or variable that set `path` or an object above it. */
function sourceOf(sources: Map<string, string>, path: string[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const s = sources.get(path.slice(0, n).join('.'));
    if (s) return s;
  }
  return undefined;
}

/** Merge and validate everything into a NodeConfig. Throws ConfigError with a message fit for the user. */
export function loadConfig(src: ConfigSources): NodeConfig {
  const cwd = src.cwd ?? process.cwd();
  checkEnvNames(src.env);
  const configFlag = SERVE_FLAGS.find((f) => f.path === '')!;
  const configFile = src.flags[configFlag.name] || src.env[configFlag.env] || undefined;
  const filePath = configFile ? resolve(cwd, configFile) : undefined;
  const raw: Raw = filePath ? readConfigFile(filePath) : {};
  const baseDir = filePath ? dirname(filePath) : cwd;
  const fileLabel = filePath ? `config file ${configFile}` : 'config';

  // File paths in the file are relative to the file's directory.
  for (const p of filePaths()) {
    const v = getPath(raw, p);
    if (typeof v === 'string' && v !== '') setPath(raw, p, resolve(baseDir, v));
  }

  // The default group: declared in the file (list or map) or added; the default-group flags patch it.
  const sources = new Map<string, string>();
  const groupFlags: [string, string, unknown][] = [];
  for (const f of SERVE_FLAGS) {
    if (!f.path) continue;
    const fromFlag = src.flags[f.name];
    const fromEnv = src.env[f.env];
    let v: unknown = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
    if (v === undefined) continue;
    const label = fromFlag !== undefined ? `--${f.name}` : f.env;
    if (f.kind === 'file') v = resolve(cwd, v as string);
    if (f.path === 'group.origin') v = resolveOriginSpec(v as string, cwd);
    if (f.path.startsWith('group.')) groupFlags.push([f.path.slice(6), label, v]);
    else if (setPath(raw, f.path, v)) sources.set(f.path, label);
  }
  const groups = raw.groups;
  const wantDefault = raw.defaultGroup !== false || groupFlags.length > 0;
  if (wantDefault && (groups === undefined || groups === null || Array.isArray(groups) || isObject(groups))) {
    let at: string;
    let g: Raw;
    if (isObject(groups)) {
      groups[DEFAULT_GROUP] ??= {};
      g = isObject(groups[DEFAULT_GROUP]) ? (groups[DEFAULT_GROUP] as Raw) : {};
      at = `groups.${DEFAULT_GROUP}`;
    } else {
      const list = (raw.groups = Array.isArray(groups) ? groups : []) as unknown[];
      let i = list.findIndex((x) => isObject(x) && x.name === DEFAULT_GROUP);
      if (i < 0) i = list.push({ name: DEFAULT_GROUP }) - 1;
      g = list[i] as Raw;
      at = `groups.${i}`;
    }
    for (const [key, label, v] of groupFlags) {
      g[key] = v;
      sources.set(`${at}.${key}`, label);
    }
  }

  const r = nodeSchema.safeParse(raw, { reportInput: true });
  if (!r.success) {
    const lines = problemsOf(r.error.issues).map(({ path, message, input }) => {
      const got = input !== undefined && !/\bgot\b/.test(message) && typeof input !== 'object' ? `, got ${JSON.stringify(input)}` : '';
      const flag = sourceOf(sources, path.map(String));
      return flag ? `${flag}: ${message}${got}` : `${fileLabel}: ${pathText(path)}: ${message}${got}`;
    });
    throw new ConfigError([...new Set(lines)].join('\n'));
  }
  return finish(r.data, baseDir);
}
