/**
 * Origins: where a group loads a key it does not have.
 *
 *   none    a plain cache: only what is set is there (every miss is "not found").
 *   http    GET a URL template (`https://host/items/{key}`); 2xx = the value, notFoundStatuses
 *           (default 404, 410) = not found, anything else = an origin error (502).
 *   dir     the file `<dir>/<key>`; no file (or a key leaving the directory) = not found.
 *   module  a JS module exporting `load(key, ctx)` (or a default export that is one).
 *
 * The group's loadTimeout bounds every load: past it the request answers 504 and `ctx.signal`
 * aborts the origin's I/O.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NOT_FOUND, type LoadContext, type Loader, type LoadResult } from '../cluster/types.js';
import { ClosedError, DeadlineError } from '../cluster/errors.js';
import { ConfigError, type GroupConfig, type OriginConfig } from './config/index.js';
import type { Logger } from './logger.js';

/** An origin answered with an error (bad status, unreachable, invalid result). */
export class OriginError extends Error {
  override readonly name = 'OriginError';
}

/** What a module origin's `load` receives. */
export interface ModuleLoadContext extends LoadContext {
  /** Return this (or null) for "the key does not exist". */
  NOT_FOUND: typeof NOT_FOUND;
  /** `origin.options` from the config file; `{}` when none are given. */
  options: unknown;
}

export interface OriginInit {
  group: GroupConfig;
  /** Largest value the group accepts; larger origin answers are errors. */
  maxValueBytes: number;
  baseDir: string;
  logger: Logger;
}

/** An origin checked and imported, ready to become a group's loader once the group's limit is known. */
export interface PreparedOrigin {
  loader(init: OriginInit): Loader;
}

/**
 * Check an origin and import a module origin, before the node listens (a missing or broken module
 * is a configuration error, exit 2). Throws ConfigError.
 */
export async function prepareOrigin(group: GroupConfig, baseDir: string): Promise<PreparedOrigin> {
  const origin = group.origin;
  switch (origin.type) {
    case 'none':
      return { loader: (init) => withLogs(init, () => NOT_FOUND) };
    case 'http':
      return {
        loader: (init) => withLogs(init, httpLoader(origin.url, origin.notFoundStatuses ?? [404, 410], origin.headers ?? {}, init.maxValueBytes)),
      };
    case 'dir': {
      const root = await checkDir(resolve(baseDir, origin.path));
      return { loader: (init) => withLogs(init, dirLoader(root, init.maxValueBytes)) };
    }
    case 'module': {
      const file = resolve(baseDir, origin.path);
      const load = await importModule(file);
      return { loader: (init) => withLogs(init, moduleLoader(file, load, origin.options ?? {})) };
    }
  }
}

/** Build the loader of a group (imports a module origin). Throws ConfigError for a bad origin. */
export async function createLoader(init: OriginInit): Promise<Loader> {
  return (await prepareOrigin(init.group, init.baseDir)).loader(init);
}

/**
 * Log each failed load once: an error, or a timeout — at the deadline, from the signal, so that an
 * origin that ignores `ctx.signal` (and never settles) is logged too.
 */
function withLogs(init: OriginInit, raw: Loader): Loader {
  const { logger } = init;
  const group = init.group.name;
  const origin = init.group.origin.type;
  return async (key, ctx) => {
    let timedOut = false;
    const onAbort = (): void => {
      if (!(ctx.signal.reason instanceof DeadlineError)) return;
      timedOut = true;
      logger.warn({ group, key: clip(key), origin, timeoutMs: init.group.loadTimeout }, 'origin timed out');
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await raw(key, ctx);
    } catch (err) {
      const reason = ctx.signal.aborted ? ctx.signal.reason : undefined;
      if (!timedOut && !(reason instanceof ClosedError) && !(reason instanceof DeadlineError)) {
        logger.warn({ group, key: clip(key), origin, err: messageOf(err) }, 'origin error');
      }
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  };
}

// ----------------------------------------------------------------------------- http

/** `{key}` → encodeURIComponent(key); `{path}` → each `/`-separated segment encoded; `{group}`. */
export function expandTemplate(template: string, key: string, group: string): string {
  return template
    .replaceAll('{key}', encodeURIComponent(key))
    .replaceAll('{path}', key.split('/').map(encodeURIComponent).join('/'))
    .replaceAll('{group}', encodeURIComponent(group));
}

function httpLoader(template: string, notFound: number[], headers: Record<string, string>, maxValueBytes: number): Loader {
  return async (key: string, ctx: LoadContext): Promise<LoadResult> => {
    const url = expandTemplate(template, key, ctx.group);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: ctx.signal, redirect: 'follow' });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new OriginError(`GET ${redactUrl(url)}: ${messageOf(err)}`);
    }
    if (notFound.includes(res.status)) {
      await res.body?.cancel().catch(() => {});
      return NOT_FOUND;
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {});
      throw new OriginError(`GET ${redactUrl(url)}: origin answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxValueBytes) {
      await res.body?.cancel().catch(() => {});
      throw new OriginError(`GET ${redactUrl(url)}: value of ${declared} bytes exceeds the limit of ${maxValueBytes}`);
    }
    return readCapped(res, maxValueBytes, url, ctx);
  };
}

async function readCapped(res: Response, max: number, url: string, ctx: LoadContext): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw new OriginError(`GET ${redactUrl(url)}: value exceeds the limit of ${max} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw err instanceof OriginError ? err : new OriginError(`GET ${redactUrl(url)}: ${messageOf(err)}`);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

// ----------------------------------------------------------------------------- dir

async function checkDir(root: string): Promise<string> {
  try {
    const realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) throw new Error('not a directory');
    return realRoot;
  } catch (err) {
    throw new ConfigError(`origin dir ${root}: ${messageOf(err)}`);
  }
}

function dirLoader(realRoot: string, maxValueBytes: number): Loader {
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return async (key: string, ctx: LoadContext): Promise<LoadResult> => {
    // The key names a file below the directory; anything that leaves it does not exist.
    if (key.includes('\0') || isAbsolute(key)) return NOT_FOUND;
    const file = resolve(realRoot, key);
    if (!file.startsWith(prefix)) return NOT_FOUND;
    try {
      const real = await realpath(file);
      if (!real.startsWith(prefix)) return NOT_FOUND;
      const st = await stat(real);
      if (!st.isFile()) return NOT_FOUND;
      if (st.size > maxValueBytes) throw new OriginError(`file ${key}: ${st.size} bytes exceeds the limit of ${maxValueBytes}`);
      return new Uint8Array(await readFile(real, { signal: ctx.signal }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENAMETOOLONG') return NOT_FOUND;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw err;
    }
  };
}

// ----------------------------------------------------------------------------- module

type ModuleLoad = (key: string, ctx: ModuleLoadContext) => unknown;

async function importModule(file: string): Promise<ModuleLoad> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`origin module ${file}: cannot import: ${messageOf(err)}`);
  }
  const def = mod.default as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  const load = (typeof mod.load === 'function'
    ? mod.load
    : typeof def === 'function'
      ? def
      : typeof def === 'object' && def !== null && typeof def.load === 'function'
        ? def.load
        : undefined) as ModuleLoad | undefined;
  if (!load) throw new ConfigError(`origin module ${file}: export a function load(key, ctx) (or a default export that is one)`);
  return load;
}

function moduleLoader(file: string, load: ModuleLoad, options: unknown): Loader {
  return async (key: string, ctx: LoadContext): Promise<LoadResult> => {
    const r = await load(key, { ...ctx, NOT_FOUND, options });
    if (r === null || r === NOT_FOUND) return NOT_FOUND;
    if (r instanceof Uint8Array || typeof r === 'string') return r;
    if (r instanceof ArrayBuffer) return new Uint8Array(r);
    throw new OriginError(
      `origin module ${file}: load returned ${r === undefined ? 'undefined' : typeof r}; return bytes, a string, or null / ctx.NOT_FOUND`,
    );
  };
}

// ----------------------------------------------------------------------------- helpers

function clip(key: string): string {
  return key.length > 200 ? key.slice(0, 200) + '…' : key;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
