/**
 * Discovery: list `<prefix>/<service>/`, then watch it from the list's revision + 1, so no change
 * between the two is lost. A watch that is interrupted (stream error, etcd gone, compacted
 * revision) is replaced by a fresh list + watch, retried with backoff; until then the last
 * membership is kept.
 */
import type { IWatchResponse, Watcher } from 'etcd3';
import type { NodeInfo } from '../../cluster/membership.js';
import { decodeRecord } from '../record.js';
import { errText, reportEtcdFailure, type EtcdConnection } from './client.js';
import { RetryingTask } from './retrying-task.js';
import type { MembershipCounters, MembershipEvent, MembershipLogger } from './options.js';

export interface MemberWatchOptions {
  conn: EtcdConnection;
  /** `<prefix>/<service>/` */
  dir: string;
  selfId: string;
  retryInitialMs: number;
  retryMaxMs: number;
  signal: AbortSignal;
  log: MembershipLogger;
  counters: MembershipCounters;
  emit(event: MembershipEvent): void;
  /** The known members changed (after a list or a watch event). `first`: the first successful list. */
  onChange(first: boolean): void;
  /** Our record is missing from etcd (deleted behind our back, or etcd lost its data). */
  onSelfMissing(): void;
  /** Someone else put our key (with a lease that is not ours): a duplicate node id? */
  isOurLease(lease: string): boolean;
  onCredentialError(err: Error): void;
}

export class MemberWatch {
  /** Members as last seen in etcd (may include our own record). */
  readonly known = new Map<string, NodeInfo>();
  private watcher: Watcher | null = null;
  private watching = false;
  private listed = false;
  private readonly task: RetryingTask;

  constructor(private readonly o: MemberWatchOptions) {
    this.task = new RetryingTask(() => this.listAndWatch(), {
      initialMs: o.retryInitialMs,
      maxMs: o.retryMaxMs,
      signal: o.signal,
      onFailure: (err, delayMs) => reportEtcdFailure(o, 'list', 'listing or watching members failed; keeping the last membership', err, delayMs),
    });
  }

  get isWatching(): boolean {
    return this.watching;
  }

  /** List + watch (again). Retries until a watch is established. */
  sync(): void {
    this.task.kick();
  }

  async close(): Promise<void> {
    this.stop();
    await this.task.settled();
  }

  /**
   * One attempt: list, start a watch from the next revision, and wait until the watch is
   * established (or fails, which fails the attempt and backs off).
   */
  private async listAndWatch(): Promise<void> {
    const o = this.o;
    this.stop();
    const res = await o.conn.client.getAll().prefix(o.dir).options({ deadline: o.conn.deadline() }).exec();
    if (o.signal.aborted) return;
    o.conn.markReachable();
    this.known.clear();
    for (const kv of res.kvs) this.applyPut(kv.key.toString(), kv.value.toString());
    const revision = (BigInt(res.header.revision) + 1n).toString();
    const first = !this.listed;
    this.listed = true;
    if (!first && !this.known.has(o.selfId)) o.onSelfMissing(); // e.g. etcd lost its data: put it back
    o.onChange(first);
    await this.watch(revision);
  }

  /** Start watching from `startRevision`; resolves once etcd confirmed the watch, rejects if it fails first. */
  private watch(startRevision: string): Promise<void> {
    const o = this.o;
    const watcher = o.conn.client.watch().prefix(o.dir).startRevision(startRevision).watcher();
    this.watcher = watcher;
    return new Promise<void>((resolve, reject) => {
      let established = false;
      const timer = setTimeout(() => fail('no watch confirmation within the call deadline'), o.conn.deadline() - Date.now());
      const fail = (reason: string): void => {
        clearTimeout(timer);
        if (watcher !== this.watcher || o.signal.aborted) return resolve();
        this.watching = false;
        if (!established) {
          this.stop();
          reject(new Error(`watch failed: ${reason}`));
          return;
        }
        o.counters.watchRestarts++;
        o.log.warn({ reason }, 'watch interrupted; listing again and re-watching (last membership kept)');
        o.emit({ type: 'watch-restart', reason });
        this.sync();
      };
      watcher.on('connected', () => {
        clearTimeout(timer);
        // Replaced or closed before etcd confirmed it: nothing to wait for (returning without
        // settling would leave the attempt, and so close(), waiting forever).
        if (watcher !== this.watcher || o.signal.aborted) return resolve();
        established = true;
        this.watching = true;
        o.conn.markReachable();
        o.log.debug({ startRevision }, 'watching');
        o.emit({ type: 'watch-started', revision: startRevision });
        resolve();
      });
      watcher.on('data', (r: IWatchResponse) => this.onData(watcher, r));
      watcher.on('disconnected', (err: unknown) => fail(`disconnected: ${errText(err)}`));
      watcher.on('error', (err: unknown) => fail(`error: ${errText(err)}`)); // e.g. compacted revision
    });
  }

  private onData(watcher: Watcher, res: IWatchResponse): void {
    const o = this.o;
    if (watcher !== this.watcher || o.signal.aborted) return;
    let selfDeleted = false;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      if (ev.type === 'Put') {
        this.applyPut(key, ev.kv.value.toString());
        if (key === o.dir + o.selfId && !o.isOurLease(String(ev.kv.lease))) {
          o.log.error({ key, theirLease: ev.kv.lease }, 'another process wrote our record: duplicate node id?');
        }
      } else if (key.startsWith(o.dir)) {
        const id = key.slice(o.dir.length);
        this.known.delete(id);
        if (id === o.selfId) selfDeleted = true;
      }
    }
    if (selfDeleted) o.onSelfMissing();
    o.onChange(false);
  }

  private applyPut(key: string, value: string): void {
    const node = decodeRecord(this.o.dir, key, value);
    if (node) this.known.set(node.id, node);
    else this.o.log.warn({ key }, 'ignoring an invalid membership record');
  }

  private stop(): void {
    const w = this.watcher;
    this.watcher = null;
    this.watching = false;
    if (w) void w.cancel().catch(() => {}); // fire and forget: must not wait on a dead stream
  }
}
