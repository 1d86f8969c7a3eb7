/**
 * `POST /v1/groups/{group}/set-many`: many values in one request.
 *
 *     Content-Type: application/json
 *     {"items": [{"key": "a", "value": "...", "ttl": "30s"}, ...], "encoding": "utf8" | "base64"}
 *
 * `value` is UTF-8 text with `"encoding":"utf8"`, else base64 (the default, as get-many answers);
 * `ttl` is optional: ms or a duration (`30s`), 0 = never expires, absent = the group's TTL. At most
 * MAX_ITEMS items and MAX_BODY_BYTES of body. Every item is checked before anything is stored
 * (all-or-nothing: one bad item → 400 `bad_items` listing every bad item, nothing stored). Then
 * each value goes to its key's owner: 200 `{"stored": n}`, or, when some owner could not take its
 * items, 503 `partial_write` with `stored` and the `failed` items (the others are stored).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Group } from '../cluster/group.js';
import type { SetManyItem } from '../cluster/types.js';
import { parseDuration } from './config/index.js';
import { HttpError, MAX_BATCH_KEYS, readBody, sendJson, toHttpError } from './http-io.js';

export const SET_MANY = {
  /** Items per request (as get-many's keys). */
  maxItems: MAX_BATCH_KEYS,
  /** Body bytes per request. */
  maxBodyBytes: 32 << 20,
  /** Bad items named in a 400 answer at most (the count is always complete). */
  maxReported: 100,
} as const;

const ITEM_FIELDS = new Set(['key', 'value', 'ttl']);
const BODY_FIELDS = new Set(['items', 'encoding']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface ItemError {
  index: number;
  error: string;
  message: string;
}

export async function setMany(group: Group, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'unsupported_media_type', 'set-many takes application/json');
  const body = await readBody(req, res, SET_MANY.maxBodyBytes, 'the set-many request limit');
  const items = parseItems(group, body);
  const result = await group.setMany(items);
  if (result.failed.length === 0) return sendJson(res, 200, { stored: result.stored });
  const failed = result.failed.map((f) => {
    const e = toHttpError(f.error);
    return { index: f.index, key: f.key, error: e.code, message: e.message };
  });
  throw new HttpError(
    503,
    'partial_write',
    `${failed.length} of ${items.length} items were not stored (${failed[0]!.error}: ${failed[0]!.message}); the other ${result.stored} were`,
    {},
    { stored: result.stored, failed },
  );
}

/** The request's items, every one checked; 400 with every problem found otherwise. */
function parseItems(group: Group, body: Uint8Array): SetManyItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_body', 'request body is not valid JSON');
  }
  const p = parsed as { items?: unknown; encoding?: unknown };
  if (typeof p !== 'object' || p === null || Array.isArray(p) || !Array.isArray(p.items)) {
    throw new HttpError(400, 'bad_body', 'expected {"items": [{"key": "...", "value": "..."}, ...]}');
  }
  const unknown = Object.keys(p).find((k) => !BODY_FIELDS.has(k));
  if (unknown !== undefined) throw new HttpError(400, 'bad_body', `unknown field ${JSON.stringify(unknown.slice(0, 64))}: expected items, encoding`);
  if (p.encoding !== undefined && p.encoding !== 'base64' && p.encoding !== 'utf8') {
    throw new HttpError(400, 'bad_body', 'encoding must be "base64" or "utf8"');
  }
  const utf8 = p.encoding === 'utf8';
  const raw = p.items as unknown[];
  if (raw.length > SET_MANY.maxItems) throw new HttpError(400, 'bad_body', `at most ${SET_MANY.maxItems} items per request, got ${raw.length}`);
  const errors: ItemError[] = [];
  const seen = new Set<string>();
  const items: SetManyItem[] = [];
  raw.forEach((it, index) => {
    const bad = (error: string, message: string): void => void errors.push({ index, error, message: `items[${index}]: ${message}` });
    if (typeof it !== 'object' || it === null || Array.isArray(it)) return bad('bad_item', 'expected {"key", "value", "ttl"?}');
    const item = it as Record<string, unknown>;
    const extra = Object.keys(item).find((k) => !ITEM_FIELDS.has(k));
    if (extra !== undefined) return bad('bad_item', `unknown field ${JSON.stringify(extra.slice(0, 64))}: expected key, value, ttl`);
    if (typeof item.key !== 'string') return bad('bad_key', 'key must be a string');
    try {
      group.checkKey(item.key);
    } catch (err) {
      return bad('bad_key', (err as Error).message);
    }
    if (seen.has(item.key)) return bad('duplicate_key', `key ${JSON.stringify(item.key.slice(0, 64))} is given more than once`);
    seen.add(item.key);
    if (typeof item.value !== 'string') return bad('bad_value', `value must be a string (${utf8 ? 'UTF-8 text' : 'base64'})`);
    if (!utf8 && !BASE64.test(item.value)) return bad('bad_value', 'value is not valid base64');
    const value = utf8 ? new Uint8Array(Buffer.from(item.value, 'utf8')) : new Uint8Array(Buffer.from(item.value, 'base64'));
    if (value.length > group.maxValueBytes) {
      return bad('too_large', `value of ${value.length} bytes exceeds the limit of group ${group.name} (${group.maxValueBytes} bytes)`);
    }
    let ttl: number | undefined;
    if (item.ttl !== undefined) {
      try {
        if (typeof item.ttl !== 'number' && typeof item.ttl !== 'string') throw new RangeError('expected ms or a duration like "30s"');
        ttl = parseDuration(item.ttl);
      } catch (err) {
        return bad('bad_ttl', `ttl: ${err instanceof RangeError ? err.message : 'invalid'}`);
      }
    }
    items.push({ key: item.key, value, ...(ttl !== undefined ? { ttl } : {}) });
  });
  if (errors.length > 0) {
    throw new HttpError(
      400,
      'bad_items',
      `${errors.length} of ${raw.length} items are invalid; nothing was stored (${errors[0]!.message})`,
      {},
      { items: errors.slice(0, SET_MANY.maxReported) },
    );
  }
  return items;
}
