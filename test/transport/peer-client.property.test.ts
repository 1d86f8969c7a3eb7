/**
 * The integrated peer client (GrpcPeerClient: coalescer, fetch stream or unary GetMany, wire
 * codec, real gRPC on loopback) against a scripted owner (test/helpers/scripted-peer.ts): under
 * random interleavings of arrivals, event-loop turns, answers in one frame or several, in any
 * order, per-key errors, not-found keys, failed streams and calls, batches never answered, caller
 * deadlines and owner-silence deadlines, every caller settles exactly once with its own key's
 * value (or not-found, if its key was answered so), its own key's error, or a PeerUnavailableError
 * (its batch failed, it timed out, the peer went silent) — never with another key's answer.
 * Three owners: one with GetStream, one without (the client falls back to GetMany), and a client
 * that does not use the stream.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LoaderError, PeerUnavailableError } from '../../src/cluster/errors.js';
import { GrpcPeerClient } from '../../src/transport/peer-client.js';
import { ScriptedPeer, type Answer, type PendingBatch } from '../helpers/scripted-peer.js';

const valueOf = (group: string, key: string) => new Uint8Array(Buffer.from(`v:${group}/${key}`));
const boomOf = (group: string, key: string) => `boom ${group}/${key}`;

type How = 'all' | 'split' | 'some' | 'errors' | 'notFound' | 'fail' | 'drop';
type Cmd =
  | { t: 'fetch'; group: number; key: number; timeoutMs: number; silenceMs: number | undefined }
  | { t: 'turn' }
  | { t: 'answer'; pick: number; how: How; picks: number[] };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('fetch' as const),
      group: fc.integer({ min: 0, max: 1 }),
      key: fc.integer({ min: 0, max: 5 }),
      timeoutMs: fc.integer({ min: 15, max: 150 }),
      silenceMs: fc.constantFrom(undefined, undefined, 40),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'turn' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      pick: fc.nat(),
      how: fc.constantFrom<How>('all', 'all', 'split', 'some', 'errors', 'notFound', 'fail', 'drop'),
      picks: fc.array(fc.nat(), { maxLength: 6 }),
    }),
  },
);

const setupArb = fc.record({
  mode: fc.constantFrom('stream' as const, 'no-stream-peer' as const, 'unary-client' as const),
  maxKeys: fc.integer({ min: 1, max: 6 }),
  windowUs: fc.constantFrom(0, 0, 300),
});

interface Caller {
  group: string;
  key: string;
  settlements: number;
  outcome?: { ok: true; value: Uint8Array | undefined } | { ok: false; error: unknown };
}

let open: { peer: ScriptedPeer; client: GrpcPeerClient } | undefined;
afterEach(async () => {
  open?.client.close();
  await open?.peer.close();
  open = undefined;
});

const turn = () => new Promise<void>((r) => setImmediate(r));

interface Setup {
  mode: 'stream' | 'no-stream-peer' | 'unary-client';
  maxKeys: number;
  windowUs: number;
}

async function run(setup: Setup, cmds: Cmd[]): Promise<void> {
  const peer = await ScriptedPeer.start({ stream: setup.mode === 'stream' });
  const client = new GrpcPeerClient(
    { id: 'owner', grpcAddress: peer.address },
    { maxMessageBytes: 1 << 20, stream: setup.mode !== 'unary-client', batch: { maxKeys: setup.maxKeys, windowUs: setup.windowUs } },
  );
  open = { peer, client };
  const callers: Caller[] = [];
  const settled: Array<Promise<unknown>> = [];
  const answeredNotFound = new Set<string>();

  const answer = (b: PendingBatch, how: How, picks: number[]) => {
    const slots = [...b.open];
    const chosen = new Set(picks.map((p) => slots[p % slots.length]!));
    const item = (slot: number, as: 'value' | 'error' | 'notFound'): Answer => {
      const key = b.keys[slot]!;
      if (as === 'error') return { slot, error: { code: grpc.status.UNKNOWN, kind: 'loader', message: boomOf(b.group, key) } };
      if (as === 'notFound') {
        answeredNotFound.add(`${b.group}/${key}`);
        return { slot, notFound: true };
      }
      return { slot, value: valueOf(b.group, key) };
    };
    const partial = b.kind === 'stream';
    switch (how) {
      case 'all':
        return peer.answer(b, slots.map((s) => item(s, 'value')));
      case 'split': // two frames, each out of order
        if (!partial || chosen.size === 0 || chosen.size === slots.length) return peer.answer(b, slots.map((s) => item(s, 'value')));
        peer.answer(b, [...chosen].reverse().map((s) => item(s, 'value')));
        return peer.answer(b, slots.filter((s) => !chosen.has(s)).reverse().map((s) => item(s, 'value')));
      case 'some': // a first frame; the rest stays open
        if (!partial || chosen.size === 0 || chosen.size === slots.length) return peer.answer(b, slots.map((s) => item(s, 'value')));
        return peer.answer(b, [...chosen].map((s) => item(s, 'value')));
      case 'errors':
        return peer.answer(b, slots.map((s) => item(s, chosen.has(s) ? 'error' : 'value')));
      case 'notFound':
        return peer.answer(b, slots.map((s) => item(s, chosen.has(s) ? 'notFound' : 'value')));
      case 'fail':
        return peer.fail(b, grpc.status.UNAVAILABLE, 'the owner failed');
      case 'drop':
        return peer.drop(b);
    }
  };

  for (const c of cmds) {
    if (c.t === 'fetch') {
      const caller: Caller = { group: `g${c.group}`, key: `k${c.key}`, settlements: 0 };
      callers.push(caller);
      settled.push(
        client.fetch(caller.group, caller.key, c.timeoutMs, c.silenceMs).then(
          (value) => {
            caller.settlements++;
            caller.outcome = { ok: true, value };
          },
          (error: unknown) => {
            caller.settlements++;
            caller.outcome = { ok: false, error };
          },
        ),
      );
    } else if (c.t === 'turn') {
      await turn();
    } else if (await peer.nextBatch(30)) {
      answer(peer.pending[c.pick % peer.pending.length]!, c.how, c.picks);
    }
  }
  // Drain: answer whatever arrives until every caller has settled (the rest time out).
  let done = false;
  const all = Promise.all(settled).then(() => (done = true));
  while (!done) {
    if (peer.pending.length > 0) answer(peer.pending[0]!, 'all', []);
    await Promise.race([all, peer.nextBatch(20)]);
  }

  for (const c of callers) {
    expect(c.settlements).toBe(1);
    const o = c.outcome!;
    if (o.ok) {
      if (o.value === undefined) expect(answeredNotFound.has(`${c.group}/${c.key}`)).toBe(true);
      else expect(Buffer.from(o.value).toString()).toBe(`v:${c.group}/${c.key}`);
      continue;
    }
    const e = o.error;
    if (e instanceof LoaderError) expect(e.message).toBe(boomOf(c.group, c.key));
    else if (!(e instanceof PeerUnavailableError)) throw new Error(`unexpected outcome for ${c.group}/${c.key}: ${String(e)}`);
  }
  client.close();
  await peer.close();
  open = undefined;
}

describe('GrpcPeerClient (property, real gRPC)', () => {
  it('every caller of a coalesced batch gets exactly its own key’s value, its own error, a batch failure or its own timeout', async () => {
    await fc.assert(fc.asyncProperty(setupArb, fc.array(cmd, { minLength: 3, maxLength: 40 }), run), { numRuns: 60 });
  }, 180_000);
});
