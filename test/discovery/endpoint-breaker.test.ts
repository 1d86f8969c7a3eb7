/**
 * The etcd client's per-endpoint breaker (cockatiel's CircuitBreaker): while it is open its error
 * still names the last failure, so an operator reads "connection refused", not "circuit open".
 */
import { isBrokenCircuitError } from 'cockatiel';
import { EtcdAuthenticationFailedError, GRPCUnavailableError, isRecoverableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EndpointBreaker, EndpointOpenError } from '../../src/discovery/etcd/endpoint-breaker.js';
import { etcdCause } from '../../src/node/etcd-cause.js';

describe('EndpointBreaker', () => {
  it('after 3 transient failures in a row the endpoint is skipped, with an error that keeps the last failure', async () => {
    const breaker = new EndpointBreaker('http://127.0.0.1:1', 60_000, 3);
    const refused = new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1');
    expect(isRecoverableError(refused)).toBe(true);
    let calls = 0;
    const call = (): never => {
      calls++;
      throw refused;
    };
    for (let i = 0; i < 3; i++) await expect(breaker.execute(call)).rejects.toBe(refused);
    const err = (await breaker.execute(call).catch((e: unknown) => e)) as Error;
    expect(calls).toBe(3); // skipped: not called
    expect(err).toBeInstanceOf(EndpointOpenError);
    expect(isBrokenCircuitError(err)).toBe(true); // etcd3 still treats it as an open circuit (next endpoint, no retry)
    expect(err.cause).toBe(refused);
    expect(err.message).toContain('http://127.0.0.1:1');
    expect(err.message).toContain('ECONNREFUSED');
    expect(etcdCause(err)).toMatch(/^connection refused/);
  });

  it('errors that retrying does not fix (credentials) do not open it', async () => {
    const breaker = new EndpointBreaker('http://127.0.0.1:1', 60_000, 3);
    const denied = new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password');
    expect(isRecoverableError(denied)).toBe(false);
    let calls = 0;
    for (let i = 0; i < 5; i++) {
      await expect(
        breaker.execute(() => {
          calls++;
          throw denied;
        }),
      ).rejects.toBe(denied);
    }
    expect(calls).toBe(5);
    await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
  });
});
