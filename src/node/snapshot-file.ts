/**
 * One group's snapshot on disk (`<data-dir>/<group>.snapshot`):
 *
 *     arenacache-group-snapshot <sha256 hex of the next line>\n
 *     {"format":1,"group":…,"createdAt":…,"config":…,"mark":…}\n        the meta line (JSON)
 *     <the group's main cache as ArenaCache's snapshot stream>          checksummed by the core
 *
 * Written atomically: to `<name>.tmp`, fsync'd, renamed over `<name>`, directory fsync'd — a
 * crash leaves the old file or the new one, never half of one. The stream is written as it is
 * dumped, in writes of about 1 MiB: a 1 GiB cache is never one buffer. Reading checks the meta
 * line here and leaves the stream's own checks (structure, count, checksum) to the core.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OwnershipMark } from '../cluster/ownership.js';

/** This file layout's version (the meta line and what follows it). */
export const SNAPSHOT_FILE_FORMAT = 1;
export const SNAPSHOT_SUFFIX = '.snapshot';
const MAGIC = 'arenacache-group-snapshot';
/** The two header lines are at most this long: a longer head is not a snapshot. */
const MAX_HEAD_BYTES = 1 << 20;
const WRITE_BYTES = 1 << 20;

export interface SnapshotMeta {
  format: number;
  group: string;
  /** Wall-clock ms when the snapshot was taken. */
  createdAt: number;
  /** The arenacache version that wrote it. */
  version: string;
  /** ArenaCache's snapshot stream format. */
  coreFormat: number;
  /** What makes the cached values valid for this group (see warm-restart.ts: groupFingerprint). */
  config: Record<string, unknown>;
  /** The cluster's ownership mark: whether a restart may trust the entries. */
  mark: OwnershipMark;
  /** Entries in the main cache when the snapshot was taken. */
  entries: number;
}

/** A snapshot file that cannot be used: `corrupt` ones are kept aside, `incompatible` ones removed. */
export class SnapshotFileError extends Error {
  override name = 'SnapshotFileError';
  constructor(
    readonly kind: 'corrupt' | 'incompatible',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Write `chunks` under `meta` to `path`, atomically. `onBytes` hears the bytes written so far
 * (progress). On failure the temporary file is removed and the error thrown; `path` is untouched.
 */
export async function writeSnapshotFile(
  path: string,
  meta: SnapshotMeta,
  chunks: Iterable<Uint8Array>,
  onBytes?: (total: number) => void,
): Promise<number> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  let total = 0;
  try {
    const json = JSON.stringify(meta);
    const head = Buffer.from(`${MAGIC} ${sha256(json)}\n${json}\n`, 'utf8');
    await writeAll(fh, head);
    total += head.length;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      await writeAll(fh, buf);
      total += pendingBytes;
      pendingBytes = 0;
      onBytes?.(total);
    };
    for (const chunk of chunks) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BYTES) await flush();
    }
    await flush();
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
  return total;
}

async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let at = 0;
  while (at < buf.length) {
    const { bytesWritten } = await fh.write(buf, at, buf.length - at);
    at += bytesWritten;
  }
}

/** An opened snapshot: its meta line, and its stream (read lazily, in 1 MiB chunks). */
export interface OpenedSnapshot {
  meta: SnapshotMeta;
  /** Bytes of the whole file. */
  bytes: number;
  chunks(): AsyncIterable<Uint8Array>;
}

/** Read and check the head of a snapshot file. Throws SnapshotFileError('corrupt') for anything that is not one. */
export async function openSnapshotFile(path: string): Promise<OpenedSnapshot> {
  const fh = await open(path, 'r');
  let head: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    head = Buffer.alloc(Math.min(size, MAX_HEAD_BYTES));
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const nl1 = head.indexOf(0x0a);
  const nl2 = nl1 < 0 ? -1 : head.indexOf(0x0a, nl1 + 1);
  if (nl2 < 0) throw new SnapshotFileError('corrupt', 'no snapshot header (truncated, or not a snapshot file)');
  const first = head.subarray(0, nl1).toString('utf8').split(' ');
  const json = head.subarray(nl1 + 1, nl2).toString('utf8');
  if (first.length !== 2 || first[0] !== MAGIC) throw new SnapshotFileError('corrupt', 'not an arenacache group snapshot (bad first line)');
  if (first[1] !== sha256(json)) throw new SnapshotFileError('corrupt', 'the header does not match its checksum');
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(json) as SnapshotMeta;
  } catch {
    throw new SnapshotFileError('corrupt', 'the header is not valid JSON');
  }
  if (typeof meta !== 'object' || meta === null || typeof meta.format !== 'number') throw new SnapshotFileError('corrupt', 'the header has no format');
  if (meta.format !== SNAPSHOT_FILE_FORMAT) {
    throw new SnapshotFileError('incompatible', `file format ${meta.format} (written by arenacache ${String(meta.version)}); this version reads format ${SNAPSHOT_FILE_FORMAT}`);
  }
  const start = nl2 + 1;
  return {
    meta,
    bytes: size,
    chunks: () => createReadStream(path, { start, highWaterMark: WRITE_BYTES }) as AsyncIterable<Uint8Array>,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** fsync a directory so a rename in it is durable (a no-op where directories cannot be opened). */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  } finally {
    await fh?.close().catch(() => {});
  }
}
