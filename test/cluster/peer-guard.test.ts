/**
 * The peer breaker (GuardedPeer) with a scripted client: what counts as a miss. A call the
 * transport refused without reaching the peer (NotConnectedError) neither counts nor resets the
 * count, and a probe refused that way leaves the peer suspect.
 */
import { describe, expect, it } from 'vitest';
import { GuardedPeer, NotConnectedError, PeerUnavailableError, type PeerClient } from '../../src/cluster/index.js';

type Outcome = 'ok' | 'timeout' | 'refused';

/** A client whose every call ends as the next scripted outcome. */
class ScriptedClient implements PeerClient {
  readonly peer = { id: 'p', grpcAddress: '127.0.0.1:1' };
  readonly id = 'p';
  readonly ownerDeadlines = true;
  calls = 0;
  constructor(private readonly script: Outcome[]) {}
  fetch = () => this.next(undefined);
  handoff = () => this.next(undefined);
  set = () => this.next(undefined);
  remove = () => this.next(0);
  invalidate = () => this.next(undefined);
  invalidateMany = () => this.next(undefined);
  flush = () => this.next(0);
  state = () => 'TRANSIENT_FAILURE';
  stats = () => ({});
  close = () => {};
  private next<T>(value: T): Promise<T> {
    this.calls++;
    const o = this.script.shift();
    if (o === 'ok') return Promise.resolve(value);
    if (o === 'timeout') return Promise.reject(new PeerUnavailableError('peer p: deadline', 'p', 'timeout'));
    if (o === 'refused') return Promise.reject(new NotConnectedError('peer p: No connection established', 'p'));
    throw new Error('script exhausted');
  }
}

/** Run one call of each kind in turn (fetch takes the lean path while nothing was missed). */
async function run(peer: GuardedPeer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const call = [() => peer.fetch('g', 'k', 1000, 1000), () => peer.invalidate('g', 'k', 1000), () => peer.flush('g', 1000, 1000)][i % 3]!;
    await call().catch(() => {});
  }
}

describe('GuardedPeer: calls refused unsent', () => {
  it('are not misses: any number of them leaves the peer trusted', async () => {
    const client = new ScriptedClient(Array<Outcome>(12).fill('refused'));
    const peer = new GuardedPeer(client, { failures: 3, halfOpenAfterMs: 60_000 });
    await run(peer, 12);
    expect([client.calls, peer.suspect]).toEqual([12, false]);
  });

  it('neither count nor reset the misses around them', async () => {
    const client = new ScriptedClient(['timeout', 'refused', 'refused', 'timeout', 'refused', 'timeout']);
    const peer = new GuardedPeer(client, { failures: 3, halfOpenAfterMs: 60_000 });
    await run(peer, 5);
    expect(peer.suspect).toBe(false);
    await run(peer, 1);
    expect([peer.suspect, peer.breakerState]).toEqual([true, 'open']);
  });

  it('a probe refused unsent leaves the peer suspect; an answered one ends it', async () => {
    const client = new ScriptedClient(['timeout', 'timeout', 'timeout', 'refused', 'ok']);
    const changes: string[] = [];
    // halfOpenAfterMs 0: the next call after the breaker opens is the probe.
    const peer = new GuardedPeer(client, { failures: 3, halfOpenAfterMs: 0 }, (state) => changes.push(state));
    for (let i = 0; i < 3; i++) await peer.invalidate('g', 'k', 1000).catch(() => {});
    expect(changes).toEqual(['open']);
    await expect(peer.invalidate('g', 'k', 1000)).rejects.toBeInstanceOf(NotConnectedError);
    expect([peer.suspect, peer.breakerState, changes]).toEqual([true, 'open', ['open', 'open']]);
    await peer.invalidate('g', 'k', 1000);
    expect([peer.suspect, changes]).toEqual([false, ['open', 'open', 'closed']]);
  });
});

describe('GuardedPeer: one failed batch', () => {
  /** A client whose fetches of one batch all fail with the batch's one error, as the coalescer's failAll does. */
  function batchClient(errors: Error[]): PeerClient {
    const c = new ScriptedClient([]);
    let i = 0;
    c.fetch = () => Promise.reject(errors[i++]!);
    return c;
  }

  it('is one miss however many callers it had; distinct misses still add up', async () => {
    const gone = new PeerUnavailableError('peer p: fetch stream ended', 'p', 'unreachable');
    const shared = new GuardedPeer(batchClient(Array(10).fill(gone)), { failures: 3, halfOpenAfterMs: 60_000 });
    await Promise.all(Array.from({ length: 10 }, () => shared.fetch('g', 'k', 1000, 1000).catch(() => {})));
    expect(shared.suspect).toBe(false);
    const distinct = Array.from({ length: 3 }, () => new PeerUnavailableError('peer p: deadline', 'p', 'timeout'));
    const apart = new GuardedPeer(batchClient(distinct), { failures: 3, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 3; i++) await apart.fetch('g', 'k', 1000, 1000).catch(() => {});
    expect(apart.suspect).toBe(true);
  });
});
