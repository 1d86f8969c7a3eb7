/**
 * The per-endpoint circuit breaker of the etcd client: cockatiel's CircuitBreaker, whose error
 * names the cause. After `failures` consecutive transient failures on an endpoint, calls skip it
 * for `halfOpenAfterMs` (etcd3 then tries the next endpoint); then one call probes it. etcd3's
 * default keeps a host closed for a fixed 5 s, which delays recovery after an etcd restart.
 *
 * While the breaker is open, cockatiel rejects with "the circuit breaker is open", which says
 * nothing an operator can act on; this one rejects with an EndpointOpenError that keeps the last
 * failure (connection refused, TLS, auth...) in its message and as its `cause`.
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
  type IDefaultPolicyContext,
  type IPolicy,
} from 'cockatiel';
import { isRecoverableError } from 'etcd3';

/**
 * Thrown instead of calling an endpoint whose breaker is open. A BrokenCircuitError still, so
 * etcd3 treats it as one (it moves on to the next endpoint and does not retry it).
 */
export class EndpointOpenError extends BrokenCircuitError {
  override readonly name = 'EndpointOpenError';

  constructor(host: string, last: unknown) {
    const why = last instanceof Error ? ` (last: ${last.message})` : '';
    super(`etcd endpoint ${host} skipped after repeated failures${why}`);
    if (last !== undefined) (this as { cause?: unknown }).cause = last;
  }
}

export class EndpointBreaker implements IPolicy<IDefaultPolicyContext> {
  declare readonly _altReturn: never;
  private readonly breaker: CircuitBreakerPolicy;

  constructor(
    readonly host: string,
    halfOpenAfterMs: number,
    failures: number,
  ) {
    this.breaker = circuitBreaker(handleWhen((err) => isRecoverableError(err)), {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(failures),
    });
  }

  get onSuccess(): IPolicy['onSuccess'] {
    return this.breaker.onSuccess;
  }

  get onFailure(): IPolicy['onFailure'] {
    return this.breaker.onFailure;
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    try {
      return await this.breaker.execute(fn, signal);
    } catch (err) {
      if (!isBrokenCircuitError(err) || err instanceof EndpointOpenError) throw err;
      const last = this.breaker.lastFailure;
      throw new EndpointOpenError(this.host, last && 'error' in last ? last.error : undefined);
    }
  }
}
