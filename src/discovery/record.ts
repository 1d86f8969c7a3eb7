/**
 * Key layout and record encoding for membership in etcd.
 *
 *   key:   <prefix>/<service>/<nodeId>          e.g. /arenacache/default/node-a
 *   value: JSON of NodeInfo                      {"id","grpcAddress","httpAddress","weight","version","startedAt"}
 *
 * The node id in the key is authoritative; the `id` in the JSON is informational.
 */
import type { NodeInfo } from '../cluster/membership.js';
import { checkNodeId } from '../cluster/validate.js';

/** `/arenacache` + `default` → `/arenacache/default/` (always one leading slash, one trailing slash). */
export function serviceDir(prefix: string, service: string): string {
  const p = '/' + prefix.replace(/^\/+|\/+$/g, '');
  if (!service || service.includes('/')) throw new RangeError(`invalid service name ${JSON.stringify(service)}`);
  return (p === '/' ? '' : p) + '/' + service + '/';
}

export function recordKey(dir: string, id: string): string {
  checkNodeId(id);
  return dir + id;
}

export function encodeRecord(node: NodeInfo): string {
  const rec: NodeInfo = { id: node.id, grpcAddress: node.grpcAddress };
  if (node.httpAddress !== undefined) rec.httpAddress = node.httpAddress;
  if (node.weight !== undefined) rec.weight = node.weight;
  if (node.version !== undefined) rec.version = node.version;
  if (node.startedAt !== undefined) rec.startedAt = node.startedAt;
  return JSON.stringify(rec);
}

/**
 * Decode the record stored at `key` (under `dir`). Returns null for keys that are not direct
 * children of `dir` or values that are not a valid record (callers log and ignore those).
 */
export function decodeRecord(dir: string, key: string, value: string): NodeInfo | null {
  if (!key.startsWith(dir)) return null;
  const id = key.slice(dir.length);
  if (!id || id.includes('/')) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.grpcAddress !== 'string' || r.grpcAddress === '') return null;
  const node: NodeInfo = { id, grpcAddress: r.grpcAddress };
  if (typeof r.httpAddress === 'string') node.httpAddress = r.httpAddress;
  if (typeof r.weight === 'number' && Number.isFinite(r.weight) && r.weight > 0) node.weight = r.weight;
  if (typeof r.version === 'string') node.version = r.version;
  if (typeof r.startedAt === 'number' && Number.isFinite(r.startedAt)) node.startedAt = r.startedAt;
  return node;
}

/** Canonical string for equality checks between membership snapshots. */
export function membershipKey(nodes: readonly NodeInfo[]): string {
  return nodes.map(encodeRecord).join('\n');
}

export interface MembershipDiff {
  added: NodeInfo[];
  removed: NodeInfo[];
  /** Same id, different record (e.g. new address after a restart). */
  changed: NodeInfo[];
}

/** What changed between two memberships: which channels to open, close or re-dial. */
export function diffMembers(prev: readonly NodeInfo[], next: readonly NodeInfo[]): MembershipDiff {
  const before = new Map(prev.map((n) => [n.id, n]));
  const after = new Map(next.map((n) => [n.id, n]));
  const added: NodeInfo[] = [];
  const removed: NodeInfo[] = [];
  const changed: NodeInfo[] = [];
  for (const [id, n] of after) {
    const old = before.get(id);
    if (!old) added.push(n);
    else if (encodeRecord(old) !== encodeRecord(n)) changed.push(n);
  }
  for (const [id, n] of before) if (!after.has(id)) removed.push(n);
  return { added, removed, changed };
}
