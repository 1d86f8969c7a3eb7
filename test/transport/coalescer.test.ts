/**
 * The coalescer: every caller of a coalesced batch gets exactly its own key's value, its own
 * key's error, its batch's failure, its own timeout, or its peer's silence — under random
 * interleavings of arrivals, event-loop turns, time passing, partial and out-of-order answers,
 * peer errors, answers heard from the peer and deadlines — and batches respect their limits.
 * Time is virtual (test/helpers/virtual-scheduler.ts). The integrated client (real gRPC) has its
 * own property test: test/transport/peer-client.property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Batch, Coalescer, type CoalescerOptions } from '../../src/transport/coalescer.js';
import { CallerTimeoutError, OwnerSilenceError, UnansweredKeyError } from '../../src/transport/coalescer-errors.js';
import { eventLoopScheduler } from '../../src/transport/scheduler.js';
import { settleMicrotasks, VirtualScheduler } from '../helpers/virtual-scheduler.js';

const valueOf = (group: string, key: string) => `${group}|${key}`;

class KeyError extends Error {
  constructor(
    readonly group: string,
    readonly key: string,
  ) {
    super(`peer: ${group}/${key} failed`);
  }
}
class PeerError extends Error {
  constructor(
    readonly group: string,
    readonly keys: readonly string[],
  ) {
    super(`peer failed a batch of ${keys.length}`);
  }
}

interface Caller {
  group: string;
  key: string;
  at: number;
  silenceMs: number;
  deadline: number;
  outcome?: { ok: true; value: string; at: number } | { ok: false; error: unknown; at: number; heardBefore: number };
  settlements: number;
}

type Cmd =
  | { t: 'enqueue'; group: number; key: number; timeoutMs: number; extraBytes: number; silenceMs: number }
  | { t: 'turn' }
  | { t: 'heard' }
  | { t: 'advance'; ms: number }
  | { t: 'answer'; pick: number; how: 'all' | 'some' | 'errors' | 'failAll' | 'endShort'; picks: number[] };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('enqueue' as const),
      group: fc.integer({ min: 0, max: 1 }),
      key: fc.integer({ min: 0, max: 5 }),
      timeoutMs: fc.integer({ min: 1, max: 12 }),
      extraBytes: fc.constantFrom(0, 0, 40),
      silenceMs: fc.constantFrom(Infinity, Infinity, 2, 5),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'turn' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'heard' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(0.05, 0.2, 0.5, 1, 3) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      pick: fc.nat(),
      how: fc.constantFrom('all' as const, 'some' as const, 'errors' as const, 'failAll' as const, 'endShort' as const),
      picks: fc.array(fc.nat(), { maxLength: 6 }),
    }),
  },
);

const options: fc.Arbitrary<CoalescerOptions> = fc.record({
  windowUs: fc.constantFrom(0, 100, 2000),
  maxKeys: fc.integer({ min: 1, max: 6 }),
  maxBytes: fc.constantFrom(12, 64, 1 << 20),
  maxInFlight: fc.constantFrom(1, 2, Infinity),
});

async function run(opts: CoalescerOptions, cmds: Cmd[], throwOnDispatch: boolean[]): Promise<void> {
  const windowMs = (opts.windowUs ?? 0) / 1000;
  const inFlight: Array<Batch<string>> = [];
  let inFlightAtCallback = 0;
  let inEnqueue = false;
  let dispatches = 0;
  const sched = new VirtualScheduler(() => {
    inFlightAtCallback = inFlight.length;
  });
  const co = new Coalescer<string>(
    (b) => {
      // Limits: never more keys than maxKeys; over maxBytes only as a single key.
      expect(b.keys.length).toBeGreaterThan(0);
      expect(b.keys.length).toBeLessThanOrEqual(opts.maxKeys!);
      if (b.keys.length > 1) expect(b.bytes).toBeLessThanOrEqual(opts.maxBytes!);
      // Nobody asks for keys whose callers already gave up.
      for (const d of b.deadlines) expect(d).toBeGreaterThanOrEqual(sched.now() - 1e-6);
      if (!inEnqueue) {
        // Not sent for being full: only below maxInFlight, and only after the window unless the
        // peer was idle when this look started.
        expect(inFlight.length).toBeLessThan(opts.maxInFlight!);
        if (inFlightAtCallback > 0) expect(sched.now() - b.openedAt).toBeGreaterThanOrEqual(windowMs - 1e-6);
      }
      if (throwOnDispatch[dispatches++ % throwOnDispatch.length]) throw new PeerError(b.group, [...b.keys]);
      inFlight.push(b);
    },
    opts,
    sched,
  );
  const callers: Caller[] = [];
  const heardAt: number[] = [];

  const answer = (b: Batch<string>, how: Cmd & { t: 'answer' }) => {
    const chosen = new Set(how.picks.map((p) => p % b.keys.length));
    const ended = () => inFlight.splice(inFlight.indexOf(b), 1);
    switch (how.how) {
      case 'all':
        // answered out of order, last slot first
        for (let i = b.keys.length - 1; i >= 0; i--) b.settle(i, valueOf(b.group, b.keys[i]!));
        b.end();
        ended();
        break;
      case 'some': // a first frame: some keys now, the batch stays in flight
        for (const i of chosen) b.settle(i, valueOf(b.group, b.keys[i]!));
        break;
      case 'errors':
        for (let i = 0; i < b.keys.length; i++) {
          if (chosen.has(i)) b.fail(i, new KeyError(b.group, b.keys[i]!));
          else b.settle(i, valueOf(b.group, b.keys[i]!));
        }
        b.end();
        ended();
        break;
      case 'failAll':
        b.failAll(new PeerError(b.group, [...b.keys]));
        ended();
        break;
      case 'endShort':
        for (const i of chosen) b.settle(i, valueOf(b.group, b.keys[i]!));
        b.end();
        ended();
        break;
    }
  };

  for (const c of cmds) {
    if (c.t === 'enqueue') {
      const group = `g${c.group}`;
      const key = `k${c.key}`;
      const caller: Caller = { group, key, at: sched.now(), silenceMs: c.silenceMs, deadline: sched.now() + c.timeoutMs, settlements: 0 };
      callers.push(caller);
      inEnqueue = true;
      const p = co.enqueue(group, key, c.timeoutMs, c.extraBytes, c.silenceMs);
      inEnqueue = false;
      p.then(
        (value) => {
          caller.settlements++;
          caller.outcome = { ok: true, value, at: sched.now() };
        },
        (error) => {
          caller.settlements++;
          caller.outcome = { ok: false, error, at: sched.now(), heardBefore: heardAt.length };
        },
      );
    } else if (c.t === 'turn') {
      await sched.runTurn();
    } else if (c.t === 'heard') {
      co.heard();
      heardAt.push(sched.now());
    } else if (c.t === 'advance') {
      await sched.advance(c.ms);
    } else if (inFlight.length > 0) {
      answer(inFlight[c.pick % inFlight.length]!, c);
    }
    await settleMicrotasks();
  }

  // Drain: the peer answers everything, turns run, time passes every deadline.
  for (let i = 0; i < 100 && (inFlight.length > 0 || co.pendingKeys > 0 || !sched.idle); i++) {
    while (inFlight.length > 0) answer(inFlight[0]!, { t: 'answer', pick: 0, how: 'all', picks: [] });
    await settleMicrotasks();
    await sched.runTurn();
    await sched.advance(1);
  }
  await settleMicrotasks();
  expect(co.batchesInFlight).toBe(0);
  expect(co.pendingKeys).toBe(0);

  for (const c of callers) {
    expect(c.settlements).toBe(1);
    const o = c.outcome!;
    // Nobody waits past their own deadline.
    expect(o.at).toBeLessThanOrEqual(c.deadline + 1e-9);
    if (o.ok) {
      expect(o.value).toBe(valueOf(c.group, c.key));
      continue;
    }
    const e = o.error;
    if (e instanceof CallerTimeoutError) {
      expect([e.group, e.key]).toEqual([c.group, c.key]);
      expect(o.at).toBeCloseTo(c.deadline, 9);
    } else if (e instanceof OwnerSilenceError) {
      // Given up on a silent peer: after its silence limit, with nothing heard in the last one.
      expect([e.group, e.key, e.silenceMs]).toEqual([c.group, c.key, c.silenceMs]);
      expect(o.at).toBeGreaterThanOrEqual(c.at + c.silenceMs - 1e-6);
      const last = Math.max(-Infinity, ...heardAt.slice(0, o.heardBefore));
      expect(last).toBeLessThanOrEqual(o.at - c.silenceMs + 1e-6);
    } else if (e instanceof KeyError || e instanceof UnansweredKeyError) {
      expect([e.group, e.key]).toEqual([c.group, c.key]);
    } else if (e instanceof PeerError) {
      expect(e.group).toBe(c.group);
      expect(e.keys).toContain(c.key);
    } else {
      throw new Error(`unexpected outcome ${String(e)}`);
    }
  }
  const s = co.stats();
  const failedWith = (cls: abstract new (...a: never[]) => unknown) => callers.filter((c) => c.outcome!.ok === false && (c.outcome as { error: unknown }).error instanceof cls).length;
  expect(s.timeouts).toBe(failedWith(CallerTimeoutError));
  expect(s.silences).toBe(failedWith(OwnerSilenceError));
}

describe('Coalescer (property)', () => {
  it('every caller gets exactly its own key’s answer, error, batch failure, timeout or silence; batches keep their limits', async () => {
    await fc.assert(
      fc.asyncProperty(options, fc.array(cmd, { minLength: 4, maxLength: 80, size: 'large' }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }).map((a) => a.map((x, i) => x && i % 3 === 0)), run),
      { numRuns: 400 },
    );
  });
});

/** A coalescer on a virtual clock whose dispatched batches the test answers by hand. */
function setup(opts: CoalescerOptions = {}) {
  const sched = new VirtualScheduler();
  const sent: Array<Batch<string>> = [];
  const co = new Coalescer<string>((b) => void sent.push(b), opts, sched);
  const results: Record<string, unknown> = {};
  const get = (key: string, timeoutMs = 100, group = 'g') =>
    co.enqueue(group, key, timeoutMs).then(
      (v) => (results[key] = v),
      (e: Error) => (results[key] = e),
    );
  const answerAll = (b: Batch<string>) => {
    b.keys.forEach((k, i) => b.settle(i, `v:${k}`));
    b.end();
  };
  return { sched, sent, co, get, results, answerAll };
}

describe('Coalescer (examples)', () => {
  it('an idle peer gets a lone request at the end of the turn, without waiting for the window', async () => {
    const { sched, sent, get, results, answerAll } = setup({ windowUs: 500 });
    void get('a');
    expect(sent).toHaveLength(0);
    await sched.runTurn();
    expect(sent.map((b) => b.keys)).toEqual([['a']]);
    answerAll(sent[0]!);
    await settleMicrotasks();
    expect(results).toEqual({ a: 'v:a' });
  });

  it('a busy peer: new keys gather for the window, then go as one batch', async () => {
    const { sched, sent, get } = setup({ windowUs: 500 });
    void get('a');
    await sched.runTurn();
    void get('b');
    await sched.runTurn();
    await sched.advance(0.2);
    void get('c');
    await sched.runTurn();
    expect(sent.map((b) => b.keys)).toEqual([['a']]);
    await sched.advance(0.3); // 500 µs after 'b' arrived
    expect(sent.map((b) => b.keys)).toEqual([['a'], ['b', 'c']]);
  });

  it('maxInFlight: a batch waits for one to come back, then leaves at the end of that turn with what joined', async () => {
    const { sched, sent, get, answerAll } = setup({ windowUs: 100, maxInFlight: 1 });
    void get('a');
    await sched.runTurn();
    void get('b');
    await sched.advance(5);
    expect(sent).toHaveLength(1);
    answerAll(sent[0]!);
    void get('c'); // asked in the same turn the answer came
    await sched.runTurn();
    expect(sent.map((b) => b.keys)).toEqual([['a'], ['b', 'c']]);
  });

  it('a full batch goes at once, whatever the window and the in-flight limit', () => {
    const { sent, get } = setup({ windowUs: 1000, maxInFlight: 1, maxKeys: 2 });
    void get('a');
    void get('b');
    void get('c');
    void get('d');
    expect(sent.map((b) => b.keys)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('maxBytes: a key that would cross the cap sends the batch before it', () => {
    const { co, sent } = setup({ maxBytes: 10 });
    void co.enqueue('g', 'aaaa', 100, 0);
    void co.enqueue('g', 'bbbb', 100, 0);
    void co.enqueue('g', 'cccc', 100, 0); // 12 > 10
    expect(sent.map((b) => b.keys)).toEqual([['aaaa', 'bbbb']]);
    void co.enqueue('g', 'dd', 100, 100); // expected value bytes count too
    expect(sent.map((b) => b.keys)).toEqual([['aaaa', 'bbbb'], ['cccc'], ['dd']]);
  });

  it('answers in two frames: cached keys resolve at once, a slow key later, callers never mixed up', async () => {
    const { sched, sent, get, results } = setup();
    for (const k of ['hot1', 'slow', 'hot2']) void get(k);
    await sched.runTurn();
    const b = sent[0]!;
    b.settle(0, 'v:hot1');
    b.settle(2, 'v:hot2');
    await settleMicrotasks();
    expect(results).toEqual({ hot1: 'v:hot1', hot2: 'v:hot2' });
    b.settle(1, 'v:slow');
    b.end();
    await settleMicrotasks();
    expect(results).toEqual({ hot1: 'v:hot1', hot2: 'v:hot2', slow: 'v:slow' });
  });

  it('a caller whose deadline passes is rejected then; the others still get their late answers', async () => {
    const { sched, sent, get, results } = setup();
    void get('short', 5);
    void get('long', 50);
    await sched.runTurn();
    expect(sent[0]!.deadline).toBe(50); // the RPC may take as long as its most patient caller
    await sched.advance(5);
    expect(results.short).toBeInstanceOf(CallerTimeoutError);
    expect(results.long).toBeUndefined();
    expect(sent[0]!.settle(0, 'late')).toBe(false);
    expect(sent[0]!.settle(1, 'v:long')).toBe(true);
    sent[0]!.end();
    await settleMicrotasks();
    expect(results.long).toBe('v:long');
  });

  it('callers that timed out while their batch waited are not sent; if none is left, nothing is', async () => {
    const { sched, sent, get, answerAll } = setup({ maxInFlight: 1 });
    void get('a', 100);
    await sched.runTurn();
    void get('b', 2);
    void get('c', 100);
    await sched.advance(3); // b times out while its batch waits behind a
    answerAll(sent[0]!);
    await sched.runTurn();
    expect(sent.map((b) => b.keys)).toEqual([['a'], ['c']]);
    void get('d', 1);
    answerAll(sent[1]!);
    await sched.advance(2);
    await sched.runTurn();
    expect(sent).toHaveLength(2);
  });

  it('a dispatch that throws fails that batch’s callers with its error', async () => {
    const sched = new VirtualScheduler();
    const co = new Coalescer<string>(() => {
      throw new Error('connection refused');
    }, {}, sched);
    const outcome = Promise.allSettled([co.enqueue('g', 'a', 100), co.enqueue('g', 'b', 100)]);
    await sched.runTurn();
    const [a, b] = await outcome;
    expect((a as PromiseRejectedResult).reason.message).toBe('connection refused');
    expect((b as PromiseRejectedResult).reason.message).toBe('connection refused');
    expect(co.batchesInFlight).toBe(0);
  });

  it('owner silence: a caller waits while the peer answers anything, and gives up at the end of the turn after a silent limit', async () => {
    const { sched, co, sent, results } = setup();
    const get = (key: string) =>
      co.enqueue('g', key, 100, 0, 10).then(
        (v) => (results[key] = v),
        (e: Error) => (results[key] = e),
      );
    void get('a');
    await sched.runTurn();
    await sched.advance(6);
    co.heard(); // another call's answer at 6 ms: the peer is alive
    await sched.advance(4);
    await sched.runTurn();
    expect(results.a).toBeUndefined(); // waits on: heard at 6 ms, the next check is at 20 ms
    await sched.advance(10);
    expect(results.a).toBeUndefined(); // the limit passed; decided after this turn's I/O
    co.heard(); // an answer that was waiting in the socket counts
    await sched.runTurn();
    expect(results.a).toBeUndefined();
    await sched.advance(10);
    await sched.runTurn();
    expect(results.a).toBeInstanceOf(OwnerSilenceError);
    expect((results.a as Error).message).toMatch(/no answer within the owner deadline \(10 ms\)/);
    expect(sent[0]!.settle(0, 'late')).toBe(false);
  });

  it('end() without answering a key rejects just that caller with UnansweredKeyError', async () => {
    const { sched, sent, get, results } = setup();
    void get('x');
    void get('y');
    await sched.runTurn();
    sent[0]!.settle(0, 'v:x');
    sent[0]!.end();
    await settleMicrotasks();
    expect(results.x).toBe('v:x');
    expect(results.y).toBeInstanceOf(UnansweredKeyError);
    expect((results.y as Error).message).toMatch(/answered 1 of 2 keys and not "y"/);
  });

  it('runs on the real event loop: a sub-millisecond window and a timer deadline', async () => {
    const sent: Array<Batch<string>> = [];
    const co = new Coalescer<string>((b) => void sent.push(b), { windowUs: 200 }, eventLoopScheduler);
    const first = co.enqueue('g', 'a', 1000);
    await new Promise((r) => setImmediate(r));
    const second = co.enqueue('g', 'b', 1000); // peer busy: waits for the window (spins turns)
    const third = co.enqueue('g', 'never', 10); // never answered: its deadline timer rejects it
    while (sent.length < 2) await new Promise((r) => setImmediate(r));
    expect(sent.map((b) => b.keys)).toEqual([['a'], ['b', 'never']]);
    sent[0]!.settle(0, 'v:a');
    sent[0]!.end();
    sent[1]!.settle(0, 'v:b');
    expect(await first).toBe('v:a');
    expect(await second).toBe('v:b');
    await expect(third).rejects.toBeInstanceOf(CallerTimeoutError);
    sent[1]!.end();
  });
});
