/**
 * A task that must succeed once per request, retried with exponential backoff (cockatiel) until it
 * does: registering in etcd, listing + watching the members. `kick()` asks for one more successful
 * run — also while a run is in progress (e.g. the lease was lost again while registering), in
 * which case it runs again after that one.
 */
import { ExponentialBackoff, handleAll, retry, type RetryPolicy } from 'cockatiel';

export interface RetryingTaskOptions {
  /** First backoff delay (ms); it grows exponentially, with jitter. */
  initialMs: number;
  /** Largest backoff delay (ms). */
  maxMs: number;
  /** Aborted when the owner closes: no new attempt starts, a pending backoff ends. */
  signal: AbortSignal;
  /** An attempt failed and will be retried after `delayMs`. */
  onFailure(err: unknown, delayMs: number): void;
}

export class RetryingTask {
  private wanted = false;
  private running: Promise<void> | null = null;
  private readonly policy: RetryPolicy;

  constructor(
    private readonly attempt: () => Promise<void>,
    private readonly o: RetryingTaskOptions,
  ) {
    this.policy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({ initialDelay: o.initialMs, maxDelay: o.maxMs }),
    });
    this.policy.onRetry((r) => {
      if (!o.signal.aborted) o.onFailure('error' in r ? r.error : r.value, r.delay);
    });
  }

  /** Run the task (again) until it succeeds. No-op once the signal is aborted. */
  kick(): void {
    if (this.o.signal.aborted) return;
    this.wanted = true;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.wanted) this.kick();
    });
  }

  /** Resolves when no run is in progress. */
  async settled(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
  }

  private async loop(): Promise<void> {
    while (this.wanted && !this.o.signal.aborted) {
      this.wanted = false;
      try {
        await this.policy.execute(() => (this.o.signal.aborted ? undefined : this.attempt()), this.o.signal);
      } catch {
        return; // aborted (close)
      }
    }
  }
}
