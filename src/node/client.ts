/**
 * Client subcommands against a running node's HTTP API:
 *
 *   arenacache get <group> <key>            value bytes on stdout
 *   arenacache set <group> <key> [value]    value from the argument, --file FILE or stdin
 *   arenacache del <group> <key>
 *   arenacache keys <group> [--prefix P] [--limit N]   this node's keys of the group (admin token)
 *   arenacache flush <group>                 drop the group on every node
 *   arenacache stats | members
 *
 * Exit codes: 0 found / done, 1 not found, 2 any error (bad usage, node unreachable, error status).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_ERROR = 2;

export const CLIENT_FLAGS = {
  url: { type: 'string', placeholder: 'URL', env: 'ARENACACHE_URL', default: 'http://127.0.0.1:7080', help: 'node HTTP API base URL' },
  token: { type: 'string', placeholder: 'TOKEN', env: 'ARENACACHE_AUTH_TOKEN', help: 'bearer token for set/del/flush, the admin token for keys (when the node requires one)' },
  timeout: { type: 'string', placeholder: 'MS', env: 'ARENACACHE_TIMEOUT', default: '10000', help: 'request timeout in ms' },
} as const;

export interface ClientIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

interface Common {
  url: string;
  token: string | undefined;
  timeoutMs: number;
}

export const CLIENT_USAGE: Record<string, string> = {
  get: 'arenacache get <group> <key> [--url URL]          print the value (0 found, 1 not found, 2 error)',
  set: 'arenacache set <group> <key> [value | -] [--file FILE] [--ttl DURATION] [--url URL] [--token TOKEN]\n' +
    '    value from the argument, from --file, or from stdin (no value, or "-")',
  del: 'arenacache del <group> <key> [--url URL] [--token TOKEN]   (0 deleted, 1 not found, 2 error)',
  keys: 'arenacache keys <group> [--prefix P] [--limit N] [--json] [--url URL] [--token TOKEN]\n' +
    '    the keys this node holds as owner, one per line (--json: a JSON array); all of them, or the first N',
  flush: 'arenacache flush <group> [--url URL] [--token TOKEN]   drop the group on every node (0 all, 2 not all)',
  stats: 'arenacache stats [--url URL]                      node, group and segment statistics (JSON)',
  members: 'arenacache members [--json] [--url URL]          the ring as this node sees it',
};

/** Run a client subcommand; resolves with the exit code. */
export async function runClient(command: string, argv: string[], io: ClientIo): Promise<number> {
  try {
    return await dispatch(command, argv, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`arenacache ${command}: ${(err as Error).message}\nusage: ${CLIENT_USAGE[command] ?? ''}\n`);
    } else {
      io.stderr.write(`arenacache ${command}: ${(err as Error).message}\n`);
    }
    return EXIT_ERROR;
  }
}

async function dispatch(command: string, argv: string[], io: ClientIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      timeout: { type: 'string' },
      file: { type: 'string' },
      ttl: { type: 'string' },
      prefix: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`usage: ${CLIENT_USAGE[command]}\n\n${clientFlagsHelp()}`);
    return EXIT_OK;
  }
  const timeout = Number(values.timeout ?? io.env.ARENACACHE_TIMEOUT ?? CLIENT_FLAGS.timeout.default);
  if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new UsageError('--timeout: a positive number of ms');
  const c: Common = {
    url: (values.url ?? io.env.ARENACACHE_URL ?? CLIENT_FLAGS.url.default).replace(/\/+$/, ''),
    token: values.token ?? (io.env.ARENACACHE_AUTH_TOKEN || undefined),
    timeoutMs: timeout,
  };
  const only = (allowed: string[]) => {
    for (const k of ['file', 'ttl', 'json', 'prefix', 'limit'] as const) {
      if (values[k] !== undefined && !allowed.includes(k)) throw new UsageError(`--${k} does not apply to ${command}`);
    }
  };
  const need = (n: number, max = n) => {
    if (positionals.length < n || positionals.length > max) throw new UsageError(`expected ${n === max ? n : `${n}..${max}`} arguments, got ${positionals.length}`);
  };

  switch (command) {
    case 'get': {
      only([]);
      need(2);
      const res = await call(c, 'GET', keyPath(positionals[0]!, positionals[1]!));
      if (res.status === 404 && (await errorCode(res)) === 'not_found') {
        io.stderr.write('not found\n');
        return EXIT_NOT_FOUND;
      }
      await expectOk(res);
      await write(io.stdout, new Uint8Array(await res.arrayBuffer()));
      return EXIT_OK;
    }
    case 'set': {
      only(['file', 'ttl']);
      need(2, 3);
      const [group, key, arg] = positionals as [string, string, string | undefined];
      let body: Uint8Array;
      if (values.file !== undefined) {
        if (arg !== undefined) throw new UsageError('give the value as an argument or --file, not both');
        body = await readFile(values.file);
      } else if (arg !== undefined && arg !== '-') {
        body = new TextEncoder().encode(arg);
      } else {
        if (arg === undefined && io.stdin.isTTY) throw new UsageError('no value: give it as an argument, --file FILE, or on stdin');
        body = await readAll(io.stdin);
      }
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (values.ttl !== undefined) headers['x-arenacache-ttl'] = values.ttl;
      const res = await call(c, 'PUT', keyPath(group, key), body, headers);
      await expectOk(res);
      return EXIT_OK;
    }
    case 'del': {
      only([]);
      need(2);
      const res = await call(c, 'DELETE', keyPath(positionals[0]!, positionals[1]!));
      if (res.status === 404 && (await errorCode(res)) === 'not_found') {
        io.stderr.write('not found\n');
        return EXIT_NOT_FOUND;
      }
      await expectOk(res);
      return EXIT_OK;
    }
    case 'keys': {
      only(['prefix', 'limit', 'json']);
      need(1);
      const group = positionals[0]!;
      if (group === '') throw new UsageError('empty group name');
      let max = Infinity;
      if (values.limit !== undefined) {
        max = /^[0-9]+$/.test(values.limit) ? Number(values.limit) : NaN;
        if (!(max >= 1)) throw new UsageError('--limit: a positive number of keys');
      }
      const keys: string[] = [];
      let cursor: string | null | undefined;
      do {
        const q = new URLSearchParams({ limit: String(Math.min(1000, max - keys.length)) });
        if (values.prefix !== undefined) q.set('prefix', values.prefix);
        if (cursor) q.set('cursor', cursor);
        const res = await call(c, 'GET', `/v1/groups/${encodeURIComponent(group)}/keys?${q}`, undefined, {}, true);
        await expectOk(res);
        const page = (await res.json()) as { keys: string[]; cursor: string | null };
        for (const k of page.keys) {
          keys.push(k);
          if (!values.json) io.stdout.write(k + '\n');
        }
        cursor = page.cursor;
      } while (cursor !== null && keys.length < max);
      if (values.json) io.stdout.write(JSON.stringify(keys) + '\n');
      return EXIT_OK;
    }
    case 'flush': {
      only([]);
      need(1);
      const group = positionals[0]!;
      if (group === '') throw new UsageError('empty group name');
      const res = await call(c, 'POST', `/v1/groups/${encodeURIComponent(group)}/flush`);
      const body = (await errorBody(res)) as { nodes?: Array<{ id: string; ok: boolean; dropped: number; error?: string; message?: string }> } | null;
      if (!res.ok && !body?.nodes) await expectOk(res);
      for (const n of body!.nodes!) {
        io.stdout.write(`${n.id}\t${n.ok ? `flushed (${n.dropped} entries)` : `NOT flushed: ${n.error}: ${n.message}`}\n`);
      }
      if (res.ok) return EXIT_OK;
      await expectOk(res);
      return EXIT_ERROR;
    }
    case 'stats': {
      only([]);
      need(0);
      const res = await call(c, 'GET', '/v1/stats');
      await expectOk(res);
      io.stdout.write(JSON.stringify(await res.json(), null, 2) + '\n');
      return EXIT_OK;
    }
    case 'members': {
      only(['json']);
      need(0);
      const res = await call(c, 'GET', '/v1/members');
      await expectOk(res);
      const body = (await res.json()) as {
        mode: string;
        members: Array<{ id: string; grpcAddress: string; httpAddress?: string; self?: boolean }>;
      };
      if (values.json) {
        io.stdout.write(JSON.stringify(body, null, 2) + '\n');
        return EXIT_OK;
      }
      const rows = [['ID', 'GRPC', 'HTTP', ''], ...body.members.map((m) => [m.id, m.grpcAddress, m.httpAddress ?? '-', m.self ? '(self)' : ''])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) io.stdout.write(r.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

export function clientFlagsHelp(): string {
  const lines = ['Client options:'];
  for (const [name, f] of Object.entries(CLIENT_FLAGS)) {
    const def = 'default' in f ? ` (default ${f.default})` : '';
    lines.push(`  --${name} ${f.placeholder}`.padEnd(28) + `${f.help}${def}  [env ${f.env}]`);
  }
  lines.push('  --file FILE'.padEnd(28) + 'set: read the value from FILE');
  lines.push('  --ttl DURATION'.padEnd(28) + 'set: TTL of the value (ms, or 500ms, 30s, 5m, 1h; 0 = none)');
  lines.push('  --json'.padEnd(28) + 'members, keys: print JSON instead of a table / lines');
  lines.push('  --prefix P'.padEnd(28) + 'keys: only keys starting with P');
  lines.push('  --limit N'.padEnd(28) + 'keys: at most N keys (default: all)');
  return lines.join('\n') + '\n';
}

function keyPath(group: string, key: string): string {
  if (group === '') throw new UsageError('empty group name');
  if (key === '') throw new UsageError('empty key');
  return `/v1/groups/${encodeURIComponent(group)}/keys/${encodeURIComponent(key)}`;
}

/** `withToken`: send --token (writes always do; reads only when asked, e.g. the key listing). */
async function call(c: Common, method: string, path: string, body?: Uint8Array, headers: Record<string, string> = {}, withToken = method !== 'GET'): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (c.token && withToken) h.authorization = `Bearer ${c.token}`;
  try {
    return await fetch(c.url + path, {
      method,
      headers: h,
      ...(body !== undefined ? { body: body as Uint8Array<ArrayBuffer> } : {}),
      signal: AbortSignal.timeout(c.timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${c.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Error(`cannot reach the node at ${c.url}: ${why}`);
  }
}

const errorCodes = new WeakMap<Response, { error?: string; message?: string } | null>();

async function errorBody(res: Response): Promise<{ error?: string; message?: string } | null> {
  if (errorCodes.has(res)) return errorCodes.get(res)!;
  let body: { error?: string; message?: string } | null = null;
  try {
    body = (await res.json()) as { error?: string; message?: string };
  } catch {
    body = null;
  }
  errorCodes.set(res, body);
  return body;
}

async function errorCode(res: Response): Promise<string | undefined> {
  return (await errorBody(res))?.error;
}

async function expectOk(res: Response): Promise<void> {
  if (res.ok) return;
  const b = await errorBody(res);
  throw new Error(`HTTP ${res.status}${b?.error ? ` ${b.error}` : ''}${b?.message ? `: ${b.message}` : ''}`);
}

function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function write(stream: NodeJS.WritableStream, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
