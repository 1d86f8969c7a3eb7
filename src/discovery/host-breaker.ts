/**
 * Per-endpoint circuit breaker for the etcd3 client (replaces etcd3's default, which keeps a host
 * closed for a fixed 5 s after 3 failures and so delays recovery after an etcd restart).
 *
 * After `threshold` consecutive transient failures on an endpoint, calls skip it for `openMs`
 * (etcd3 then tries the next endpoint). After that one call goes through; a failure reopens it,
 * a success closes it. Only `execute` is used by etcd3 1.1.2.
 */
import { isRecoverableError, type IOptions } from 'etcd3';

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** Thrown instead of calling an endpoint whose breaker is open (not retried by etcd3's global policy). */
export class EndpointOpenError extends Error {
  /** The last failure's message is kept in this one: it says why (refused, TLS, …). */
  constructor(host: string, untilMs: number, last?: unknown) {
    const why = last instanceof Error ? ` (last: ${last.message})` : '';
    super(`etcd endpoint ${host} skipped for ${Math.max(0, untilMs - Date.now())} ms after repeated failures${why}`, { cause: last });
    this.name = 'EndpointOpenError';
  }
}

export class HostBreaker {
  private failures = 0;
  private openUntil = 0;
  private lastError: unknown;
  private readonly never = new AbortController().signal;

  constructor(
    readonly host: string,
    private readonly openMs: number,
    private readonly threshold = 3,
  ) {}

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.openUntil) throw new EndpointOpenError(this.host, this.openUntil, this.lastError);
    try {
      const result = await fn({ signal: this.never });
      this.failures = 0;
      return result;
    } catch (err) {
      this.lastError = err;
      if (err instanceof Error && isRecoverableError(err) && ++this.failures >= this.threshold) {
        this.openUntil = Date.now() + this.openMs;
      }
      throw err;
    }
  }

  /** As the policy object etcd3's `faultHandling.host` expects (only `execute` is called). */
  asPolicy(): HostPolicy {
    return this as unknown as HostPolicy;
  }
}
