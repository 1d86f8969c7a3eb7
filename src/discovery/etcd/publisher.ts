/**
 * Debounced publication of the membership: a burst of changes within `debounceMs` gives one
 * publication, a continuous stream is still published at least every `debounceMaxMs`, and a
 * membership equal to the last one published is not published again.
 */
import { normalizeMembers, type MembershipListener, type NodeInfo } from '../../cluster/membership.js';
import { diffMembers, membershipKey } from '../record.js';
import { errText } from './client.js';
import type { MembershipCounters, MembershipEvent, MembershipLogger } from './options.js';

export interface PublisherOptions {
  self: NodeInfo;
  debounceMs: number;
  debounceMaxMs: number;
  log: MembershipLogger;
  counters: MembershipCounters;
  emit(event: MembershipEvent): void;
  /** The members to publish now (self included). */
  current(): Iterable<NodeInfo>;
}

export class Publisher {
  readonly listeners = new Set<MembershipListener>();
  private published: readonly NodeInfo[];
  private publishedKey: string;
  private timer: NodeJS.Timeout | null = null;
  private pendingSince = 0;
  private stopped = false;

  constructor(private readonly o: PublisherOptions) {
    this.published = Object.freeze([o.self]);
    this.publishedKey = membershipKey(this.published);
  }

  /** The membership listeners last received. */
  get members(): readonly NodeInfo[] {
    return this.published;
  }

  /** Publish soon (debounced). */
  schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.timer) {
      clearTimeout(this.timer);
      if (now - this.pendingSince >= this.o.debounceMaxMs) {
        this.timer = null;
        this.flush();
        return;
      }
    } else {
      this.pendingSince = now;
    }
    const wait = Math.min(this.o.debounceMs, this.o.debounceMaxMs - (now - this.pendingSince));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, wait));
  }

  /** Publish now, if the membership differs from the last one published. */
  flush(): void {
    if (this.stopped) return;
    const next = normalizeMembers(this.o.current());
    const key = membershipKey(next);
    if (key === this.publishedKey) return;
    const diff = diffMembers(this.published, next);
    this.published = next;
    this.publishedKey = key;
    this.o.counters.membershipChanges++;
    const ids = (l: readonly NodeInfo[]) => l.map((n) => n.id);
    const added = ids(diff.added);
    const removed = ids(diff.removed);
    const changed = ids(diff.changed);
    this.o.log.info({ members: ids(next), added, removed, changed }, 'membership changed');
    this.o.emit({ type: 'members-changed', members: next, added, removed, changed });
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (err) {
        this.o.log.error({ err: errText(err) }, 'membership listener threw');
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
