/**
 * The client side of a peer's fetch stream (GetStream): one long-lived bidirectional call per peer,
 * opened with the first batch and again after a failure. Each coalesced batch is one request frame
 * with a fresh id; the frames answering it (get-stream-handler.ts) settle its callers slot by slot
 * as they arrive, and the last one (`more` unset) ends it.
 *
 * Failures: a stream that fails (peer gone, reset, keepalive timeout) or ends fails the batches
 * it carried, as a unary call would; the next batch opens a new stream. A stream opened while the
 * channel waits to reconnect is refused unsent, as a fail-fast unary call is (`failed` is told).
 * A peer that answers UNIMPLEMENTED (an older node) gets its batches back through `unsupported`,
 * for unary GetMany.
 * Deadlines are the callers' (the coalescer's); a batch still here at its latest caller's
 * deadline is dropped by a sweep (one timer per stream), so a peer that never answers a batch
 * leaks nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { PeerUnavailableError } from '../cluster/errors.js';
import type { FetchResult } from '../cluster/peer.js';
import type { Batch } from './coalescer.js';
import { backingOff } from './status.js';
import type { GetManyResult, KeysRequestIn } from './wire/messages.js';
import { peerWireService } from './wire/service.js';

export interface FetchStreamHooks {
  /** A frame for `b`: settle what it answers; `last`: no more frames for `b` will come (end it). */
  frame(b: Batch<FetchResult>, r: GetManyResult, last: boolean): void;
  /** The peer has no GetStream: these batches (not answered at all) go another way. */
  unsupported(batches: Array<Batch<FetchResult>>): void;
  /**
   * A stream failed: count it, and map its status to the error its batches get. `refusable`: it
   * was opened while the channel was backing off and the peer sent nothing on it.
   */
  failed(err: unknown, refusable: boolean): Error;
}

type Call = grpc.ClientDuplexStream<KeysRequestIn, GetManyResult>;

export class FetchStream {
  private call: Call | undefined;
  private readonly inFlight = new Map<number, Batch<FetchResult>>();
  private nextId = 1;
  private sweepTimer: ReturnType<typeof setTimeout> | undefined;
  private sweepAt = Infinity;
  /** Streams opened (stats). */
  opened = 0;

  constructor(
    private readonly client: grpc.Client,
    private readonly metadata: grpc.Metadata,
    private readonly peerId: string,
    private readonly hooks: FetchStreamHooks,
  ) {}

  /** Batches sent and not yet ended. */
  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  /** Send a batch as one frame (opening the stream if needed). */
  send(b: Batch<FetchResult>): void {
    const call = this.call ?? this.open();
    const id = this.nextId;
    this.nextId = id === 0xffff_ffff ? 1 : id + 1;
    this.inFlight.set(id, b);
    if (b.deadline < this.sweepAt) this.armSweep(b.deadline);
    call.write({ group: b.group, keys: b.keys, batch: id });
  }

  /** No more batches: half-close; the peer answers what it has, then ends the stream. */
  close(): void {
    this.call?.end();
  }

  private open(): Call {
    const def = peerWireService().GetStream;
    let refusable = backingOff(this.client);
    const call = this.client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, this.metadata, {}) as Call;
    this.call = call;
    this.opened++;
    call.on('data', (r: GetManyResult) => {
      refusable = false;
      this.onFrame(r);
    });
    call.on('error', (err: grpc.ServiceError) => this.onGone(call, err, refusable));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) this.onGone(call, undefined, false);
    });
    return call;
  }

  private onFrame(r: GetManyResult): void {
    const b = this.inFlight.get(r.batch);
    if (b === undefined) return; // swept at its deadline, or an id this stream never sent
    if (!r.more) this.inFlight.delete(r.batch);
    this.hooks.frame(b, r, !r.more);
  }

  /** The stream ended (err undefined: the peer ended it, e.g. shutting down) or failed. */
  private onGone(call: Call, err: grpc.ServiceError | undefined, refusable: boolean): void {
    if (call !== this.call) return;
    this.call = undefined;
    const batches = [...this.inFlight.values()];
    this.inFlight.clear();
    if (err?.code === grpc.status.UNIMPLEMENTED) {
      this.hooks.unsupported(batches);
      return;
    }
    const error = err === undefined ? new PeerUnavailableError(`peer ${this.peerId}: fetch stream ended`, this.peerId, 'unreachable') : this.hooks.failed(err, refusable);
    for (const b of batches) b.failAll(error);
  }

  private armSweep(at: number): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(this.sweep, Math.max(0, at - performance.now()) + 1);
    this.sweepTimer.unref();
  }

  /** Drop the batches whose every caller's deadline has passed (the coalescer answered them). */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, b] of this.inFlight) {
      if (b.deadline <= now) {
        this.inFlight.delete(id);
        b.end();
      } else if (b.deadline < next) next = b.deadline;
    }
    if (next !== Infinity) this.armSweep(next);
  };
}
