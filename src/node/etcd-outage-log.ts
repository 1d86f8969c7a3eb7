/**
 * The etcd membership's logger, as the node gives it: an outage is reported once (its first warning,
 * with the cause named), further warnings are counted, not printed, and summarised every
 * `summaryEveryMs` ("etcd still unreachable", with the count); "etcd reachable again" closes it.
 * Errors always go through. Without this an etcd that is down prints a warning per retry.
 */
import { etcdCause } from './etcd-cause.js';
import type { Logger } from './logger.js';

interface Outage {
  since: number;
  cause: string;
  suppressed: number;
  timer: NodeJS.Timeout;
}

type Fields = Record<string, unknown> & { err?: unknown };

export class EtcdOutageLog {
  private outage: Outage | undefined;
  private lastCause: string | undefined;
  /** While true, a credential error ends the start: its "; retrying" would be untrue. */
  starting = true;

  constructor(
    private readonly log: Logger,
    private readonly summaryEveryMs: number,
  ) {}

  /** The cause of the current (or last) outage, e.g. "connection refused (…)". */
  get cause(): string | undefined {
    return this.outage?.cause ?? this.lastCause;
  }

  debug(obj: object, msg?: string): void {
    this.log.debug(obj, msg);
  }

  info(obj: object, msg?: string): void {
    this.log.info(obj, msg);
  }

  warn(obj: object, msg?: string): void {
    const f = obj as Fields;
    if (f.err === undefined) return void this.log.warn(obj, msg); // not a failed call: say it
    const cause = etcdCause(f.err);
    this.lastCause = cause;
    if (this.outage) {
      this.outage.suppressed++;
      return;
    }
    const timer = setInterval(() => this.summary(), this.summaryEveryMs);
    timer.unref();
    this.outage = { since: Date.now(), cause, suppressed: 0, timer };
    this.log.warn({ ...obj, cause }, msg);
  }

  error(obj: object, msg?: string): void {
    const f = obj as Fields;
    if (f.err !== undefined) this.lastCause = etcdCause(f.err);
    const text = this.starting && msg ? msg.replace(/; retrying$/, '') : msg;
    this.log.error(f.err !== undefined ? { ...obj, cause: this.lastCause } : obj, text);
  }

  /** etcd answered again: close the outage with one line. */
  recovered(): void {
    const o = this.outage;
    if (!o) return;
    clearInterval(o.timer);
    this.outage = undefined;
    this.log.info({ downMs: Date.now() - o.since, suppressedWarnings: o.suppressed }, 'etcd reachable again');
  }

  close(): void {
    if (this.outage) clearInterval(this.outage.timer);
    this.outage = undefined;
  }

  private summary(): void {
    const o = this.outage;
    if (!o) return;
    this.log.warn({ cause: o.cause, downMs: Date.now() - o.since, suppressedWarnings: o.suppressed }, 'etcd still unreachable');
    o.suppressed = 0;
  }
}
