import { describe, expect, it, vi } from 'vitest';
import { KeyBatcher } from '../../src/transport/batcher.js';

type Sent = { group: string; keys: string[]; timeoutMs: number };

function recorder(answer: (key: string) => string | Error = (k) => `v:${k}`) {
  const sent: Sent[] = [];
  const send = async (group: string, keys: string[], timeoutMs: number) => {
    sent.push({ group, keys: [...keys], timeoutMs });
    return keys.map(answer);
  };
  return { sent, send };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('KeyBatcher', () => {
  it('sends everything enqueued in one turn as one batch per group, results in order', async () => {
    const { sent, send } = recorder();
    const b = new KeyBatcher(send);
    const p = [b.enqueue('g1', 'a', 100), b.enqueue('g1', 'b', 300), b.enqueue('g2', 'c', 100), b.enqueue('g1', 'd', 200)];
    expect(sent).toHaveLength(0);
    expect(await Promise.all(p)).toEqual(['v:a', 'v:b', 'v:c', 'v:d']);
    expect(sent).toEqual([
      { group: 'g1', keys: ['a', 'b', 'd'], timeoutMs: 300 },
      { group: 'g2', keys: ['c'], timeoutMs: 100 },
    ]);
  });

  it('sends a full batch at once (maxKeys) and the rest on the next turn', async () => {
    const { sent, send } = recorder();
    const b = new KeyBatcher(send, { maxKeys: 3 });
    const p = ['a', 'b', 'c', 'd'].map((k) => b.enqueue('g', k, 10));
    expect(sent.map((s) => s.keys)).toEqual([['a', 'b', 'c']]);
    await Promise.all(p);
    expect(sent.map((s) => s.keys)).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('delivers per-key errors to their callers and a failed send to every caller', async () => {
    const { send } = recorder((k) => (k === 'bad' ? new Error('bad key') : k));
    const b = new KeyBatcher(send);
    const r = await Promise.allSettled([b.enqueue('g', 'ok', 1), b.enqueue('g', 'bad', 1)]);
    expect(r[0]).toEqual({ status: 'fulfilled', value: 'ok' });
    expect((r[1] as PromiseRejectedResult).reason.message).toBe('bad key');

    const failing = new KeyBatcher<string>(async () => {
      throw new Error('unreachable');
    });
    const all = await Promise.allSettled([failing.enqueue('g', 'x', 1), failing.enqueue('g', 'y', 1)]);
    expect(all.every((s) => s.status === 'rejected' && s.reason.message === 'unreachable')).toBe(true);

    const throwing = new KeyBatcher<string>(() => {
      throw new Error('sync');
    });
    await expect(throwing.enqueue('g', 'x', 1)).rejects.toThrow('sync');
  });

  it('a sub-millisecond window keeps gathering across event-loop turns until it has passed', async () => {
    let now = 1000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const { sent, send } = recorder();
      const b = new KeyBatcher(send, { windowUs: 500 });
      const p = [b.enqueue('g', 'a', 1)];
      await turn();
      p.push(b.enqueue('g', 'b', 1));
      await turn();
      p.push(b.enqueue('g', 'c', 1));
      await turn();
      expect(sent).toHaveLength(0); // 0 µs of the window have passed (fake clock)
      now += 0.5; // 500 µs
      await Promise.all(p);
      expect(sent.map((s) => s.keys)).toEqual([['a', 'b', 'c']]);
    } finally {
      clock.mockRestore();
    }
  });

  it('without a window, requests on separate turns are separate batches', async () => {
    const { sent, send } = recorder();
    const b = new KeyBatcher(send);
    const p1 = b.enqueue('g', 'a', 1);
    await p1;
    await b.enqueue('g', 'b', 1);
    expect(sent.map((s) => s.keys)).toEqual([['a'], ['b']]);
  });

  it('flush() sends pending batches immediately', async () => {
    const { sent, send } = recorder();
    const b = new KeyBatcher(send, { windowUs: 60_000_000 });
    const p = b.enqueue('g', 'a', 1);
    expect(b.pendingKeys).toBe(1);
    b.flush();
    expect(sent).toHaveLength(1);
    expect(await p).toBe('v:a');
  });
});
