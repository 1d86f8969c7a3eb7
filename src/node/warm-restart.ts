/**
 * Warm restart (`--data-dir`): on a graceful shutdown each group's main cache is written to
 * `<data-dir>/<group>.snapshot` (snapshot-file.ts) once the cluster no longer takes writes; on the
 * next start every snapshot is read back before the node reports ready.
 *
 * What may be restored (docs/node.md, "Warm restart"; the ownership rule is the cluster's,
 * docs/cluster.md):
 * - A snapshot is used **once**: at start every file is consumed — renamed to `*.restoring` before
 *   it is read, removed after. A node that crashes later has no snapshot to go back to (what it
 *   held then was newer than the file), so it starts cold. (A node stopped before it is ready
 *   served nothing: the files it has not consumed yet stay.)
 * - The group must be configured the same in everything that decides what its values are: origin
 *   (but its timeout), `ttl`, `notFoundTtl`. Otherwise the file is *incompatible*: one log line,
 *   removed. So is one from another file or stream format.
 * - A file that cannot be read as a snapshot (header, structure, count, checksum) is *corrupt*:
 *   one log line, moved aside as `<name>.corrupt-<time>`, the group starts empty. Never a failed
 *   start.
 * - The cluster serves restored entries as owner data only under a fixed membership with the
 *   ring of the snapshot; else it drops them ('dropped').
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster } from '../cluster/cluster.js';
import type { OwnershipMark } from '../cluster/ownership.js';
import { SNAPSHOT_FORMAT } from '../core/snapshot-format.js';
import type { GroupConfig } from './config/index.js';
import type { Logger } from './logger.js';
import { openSnapshotFile, SNAPSHOT_FILE_FORMAT, SNAPSHOT_SUFFIX, SnapshotFileError, writeSnapshotFile, type SnapshotMeta } from './snapshot-file.js';

/** What happened to a group's snapshot at start. */
export type RestoreOutcome = 'restored' | 'none' | 'incompatible' | 'corrupt' | 'failed' | 'dropped';
export const RESTORE_OUTCOMES: readonly RestoreOutcome[] = ['restored', 'none', 'incompatible', 'corrupt', 'failed', 'dropped'];

export interface RestoreReport {
  group: string;
  outcome: RestoreOutcome;
  /** Entries restored (0 unless `restored`). */
  entries: number;
  /** Time spent on the group's snapshot at start. */
  seconds: number;
}

const RESTORING = '.restoring';
const TMP = '.tmp';

/**
 * What makes a group's cached values what they are: a snapshot taken under another origin or
 * other TTLs is not restored. The origin is hashed (its headers may hold secrets); its timeout
 * does not change values and is left out.
 */
export function groupFingerprint(g: GroupConfig): Record<string, unknown> {
  const { timeout: _t, ...origin } = g.origin as GroupConfig['origin'] & { timeout?: unknown };
  return {
    ttl: g.ttl,
    notFoundTtl: g.notFoundTtl,
    origin: createHash('sha256').update(JSON.stringify(origin)).digest('hex').slice(0, 32),
  };
}

export interface WarmRestartOptions {
  dir: string;
  logger: Logger;
  version: string;
  groups: readonly GroupConfig[];
}

export class WarmRestart {
  private readonly log: Logger;
  private readonly byGroup = new Map<string, RestoreReport>();
  private written: number | undefined;

  constructor(private readonly o: WarmRestartOptions) {
    this.log = o.logger.child({ component: 'warm-restart' });
  }

  /** Restore reports of this start, one per configured group. */
  reports(): RestoreReport[] {
    return [...this.byGroup.values()];
  }

  /** Bytes written so far while snapshots are being written at shutdown; undefined otherwise. */
  get writeProgress(): number | undefined {
    return this.written;
  }

  /**
   * Before the cluster starts (its groups exist): consume every snapshot in the directory,
   * restore the compatible ones, and hand their ownership mark to the cluster. `stopped()` says
   * the node is being stopped: the rest is skipped.
   */
  async restore(cluster: Cluster, stopped: () => boolean): Promise<void> {
    const dir = this.o.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = await readdir(dir);
    // Leftovers of an interrupted write or restore are never used.
    for (const n of names) {
      if (n.endsWith(SNAPSHOT_SUFFIX + TMP) || n.endsWith(SNAPSHOT_SUFFIX + RESTORING)) await rm(join(dir, n), { force: true });
    }
    const configured = new Map(this.o.groups.map((g) => [g.name, g]));
    for (const g of this.o.groups) this.byGroup.set(g.name, { group: g.name, outcome: 'none', entries: 0, seconds: 0 });
    let mark: OwnershipMark | undefined;
    for (const name of names.filter((n) => n.endsWith(SNAPSHOT_SUFFIX)).sort()) {
      const group = name.slice(0, -SNAPSHOT_SUFFIX.length);
      const file = join(dir, name);
      const cfg = configured.get(group);
      // Stopped before it served anything: the snapshots not read yet stay for the next start.
      if (stopped()) continue;
      if (cfg === undefined) {
        await rm(file, { force: true });
        this.log.info({ group, file }, 'snapshot skipped: no such group is configured (removed)');
        continue;
      }
      const t0 = performance.now();
      const restoring = file + RESTORING;
      try {
        await rename(file, restoring); // consumed from here on, whatever happens
      } catch (err) {
        await rm(file, { force: true }).catch(() => {});
        this.finish(group, 'failed', 0, t0);
        this.log.error({ group, file, err: String(err) }, 'snapshot skipped: it cannot be consumed (renamed)');
        continue;
      }
      try {
        const opened = await openSnapshotFile(restoring);
        this.checkCompatible(opened.meta, cfg, mark);
        const r = await cluster.group(group).restore(opened.chunks());
        mark ??= opened.meta.mark;
        this.finish(group, 'restored', r.loaded, t0);
        this.log.info(
          { group, entries: r.loaded, expired: r.expired, skipped: r.skipped, overflow: r.overflow, bytes: opened.bytes, ms: Math.round(performance.now() - t0), ageMs: Date.now() - opened.meta.createdAt },
          'snapshot restored',
        );
        // Stopped meanwhile: this process serves nothing, so the file is still the latest state.
        if (stopped()) await rename(restoring, file);
        else await rm(restoring, { force: true });
      } catch (err) {
        await this.refuse(group, file, restoring, err, t0);
      }
    }
    if (mark !== undefined) cluster.resume(mark);
  }

  /** The cluster did not trust the restored entries (see Cluster.resume): they are gone. */
  dropped(reason: string): void {
    const groups: string[] = [];
    for (const r of this.byGroup.values()) {
      if (r.outcome !== 'restored') continue;
      r.outcome = 'dropped';
      r.entries = 0;
      groups.push(r.group);
    }
    this.log.warn({ groups, reason }, 'restored entries dropped');
  }

  /**
   * At shutdown, once the cluster takes no more writes (Cluster.stop) and before its caches are
   * released: write every group's snapshot. A group that cannot be written is logged and left
   * out; the others are written.
   */
  async write(cluster: Cluster): Promise<void> {
    const mark = cluster.snapshotMark();
    if (mark === undefined) {
      this.log.warn({}, 'snapshots not written: this node gained keys since it started, so a restart could not trust them');
      return;
    }
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    this.written = 0;
    let before = 0;
    try {
      for (const g of cluster.groups()) {
        const cfg = this.o.groups.find((x) => x.name === g.name);
        if (cfg === undefined) continue;
        const t0 = performance.now();
        const file = join(this.o.dir, g.name + SNAPSHOT_SUFFIX);
        const meta: SnapshotMeta = {
          format: SNAPSHOT_FILE_FORMAT,
          group: g.name,
          createdAt: Date.now(),
          version: this.o.version,
          coreFormat: SNAPSHOT_FORMAT,
          config: groupFingerprint(cfg),
          mark,
          entries: g.stats().main.entries,
        };
        try {
          const bytes = await writeSnapshotFile(file, meta, g.snapshotChunks(), (n) => (this.written = before + n));
          before += bytes;
          this.written = before;
          this.log.info({ group: g.name, entries: meta.entries, bytes, ms: Math.round(performance.now() - t0), file }, 'snapshot written');
        } catch (err) {
          this.log.error({ group: g.name, file, err: String(err) }, 'snapshot not written');
        }
      }
    } finally {
      this.written = undefined;
    }
  }

  // ------------------------------------------------------------------------- internals

  private checkCompatible(meta: SnapshotMeta, cfg: GroupConfig, mark: OwnershipMark | undefined): void {
    if (meta.group !== cfg.name) throw new SnapshotFileError('corrupt', `the file holds group ${JSON.stringify(meta.group)}`);
    if (meta.coreFormat !== SNAPSHOT_FORMAT) {
      throw new SnapshotFileError('incompatible', `cache stream format ${meta.coreFormat} (arenacache ${meta.version}); this version reads format ${SNAPSHOT_FORMAT}`);
    }
    const now = groupFingerprint(cfg);
    const changed = Object.keys(now).filter((k) => JSON.stringify(now[k]) !== JSON.stringify(meta.config?.[k]));
    if (changed.length > 0) {
      throw new SnapshotFileError('incompatible', `the group's ${changed.join(', ')} changed since the snapshot was taken`);
    }
    if (typeof meta.mark?.version !== 'number' || typeof meta.mark.since !== 'number' || !Array.isArray(meta.mark.members)) {
      throw new SnapshotFileError('corrupt', 'the header has no ownership mark');
    }
    // Every file written at one shutdown carries the same mark; one from another shutdown is stale.
    if (mark !== undefined && JSON.stringify(mark) !== JSON.stringify(meta.mark)) {
      throw new SnapshotFileError('incompatible', 'it was written at another shutdown than the other groups\' snapshots');
    }
  }

  private async refuse(group: string, file: string, restoring: string, err: unknown, t0: number): Promise<void> {
    const incompatible = err instanceof SnapshotFileError && err.kind === 'incompatible';
    const corrupt = !incompatible && (err instanceof SnapshotFileError || (err as Error)?.name === 'SnapshotError');
    const reason = err instanceof Error ? err.message : String(err);
    if (corrupt) {
      const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(restoring, aside).catch(() => rm(restoring, { force: true }));
      this.finish(group, 'corrupt', 0, t0);
      this.log.error({ group, file, movedTo: aside, reason }, 'snapshot corrupt: moved aside; the group starts empty');
      return;
    }
    await rm(restoring, { force: true });
    this.finish(group, incompatible ? 'incompatible' : 'failed', 0, t0);
    if (incompatible) this.log.warn({ group, file, reason }, 'snapshot incompatible: skipped and removed');
    else this.log.error({ group, file, reason }, 'snapshot could not be restored: skipped and removed');
  }

  private finish(group: string, outcome: RestoreOutcome, entries: number, t0: number): void {
    this.byGroup.set(group, { group, outcome, entries, seconds: (performance.now() - t0) / 1000 });
  }
}
