/**
 * The server side of one GetStream call: a peer's fetch stream. Each request is a batch of keys
 * of one group; its answers go out as frames carrying the batch id:
 *
 *     request  {batch 7, keys [a b c d]}                      (b must be loaded, c is slow)
 *     frame 1  {batch 7, slots [0 3],  items [a d], more}     at once: what the caches hold
 *     frame 2  {batch 7, slots [1],    items [b],   more}     at the end of the turn b's load settled in
 *     frame 3  {batch 7, slots [2],    items [c]}             last: no `more`
 *
 * so one slow load holds up its own key only. A batch whose keys were all cached is one frame
 * without slots. Loads that settle in the same event-loop turn share a frame. A request-level
 * problem (unknown group, bad key, too many keys) answers every key of that batch with the error;
 * the stream goes on (if those answers would not fit one message, the stream ends with the error).
 * An undecodable request ends the stream with INVALID_ARGUMENT.
 *
 * When the client half-closes, or the server drains (`drain`, at shutdown), the stream ends once
 * the batches it has taken are answered; batches arriving while draining are answered with
 * UNAVAILABLE errors.
 */
import * as grpc from '@grpc/grpc-js';
import { ClosedError } from '../cluster/errors.js';
import type { MethodCounters, ServedGroup } from '../cluster/peer.js';
import { isMalformed, MALFORMED, type Malformed } from './proto.js';
import { cachedAnswer, keyError, loadAnswer, writeAnswer, type LoadAnswer } from './key-answers.js';
import type { GetManyResponseWriter } from './wire/get-many-response-writer.js';
import type { KeysRequestOut } from './wire/messages.js';
import { statusObject } from './status.js';

/** What a stream needs from its server. */
export interface GetStreamServer {
  readonly writer: GetManyResponseWriter;
  /** Batches and keys received on fetch streams. */
  readonly streamCounters: MethodCounters;
  /** The group of a request (throws an ArenaCacheError for a bad or unknown one). */
  resolve(req: { group: string }): ServedGroup;
  /** The request's keys as strings, each checked (throws InvalidArgumentError). */
  decodeKeys(raw: Uint8Array[], group: ServedGroup): string[];
  /** About how many bytes answers for `keys` keys of `group` take (a size hint for the writer). */
  expectedBytes(group: string, keys: number): number;
  /** `items` answers of `group` took `bytes`. */
  learnBytes(group: string, items: number, bytes: number): void;
  countError(code: number): void;
  /** The stream ended (it leaves the server's set of open streams). */
  closed(stream: GetStreamHandler): void;
}

export type GetStreamCall = grpc.ServerDuplexStream<KeysRequestOut | Malformed, Buffer>;

/** A batch with keys still loading. */
class Loading {
  /** Answers that settled since the last frame, and their slots. */
  answers: LoadAnswer[] = [];
  slots: number[] = [];
  queued = false;

  constructor(
    readonly batch: number,
    public remaining: number,
  ) {}
}

export class GetStreamHandler {
  private loading = 0;
  private readonly ready: Loading[] = [];
  private flushScheduled = false;
  private draining = false;
  private ended = false;

  constructor(
    private readonly call: GetStreamCall,
    private readonly server: GetStreamServer,
  ) {
    call.on('data', this.onRequest);
    call.on('end', this.onEnd);
    call.on('error', this.onGone);
    call.on('cancelled', this.onGone);
  }

  /** Stop taking batches; end the stream once the ones taken are answered. */
  drain(): void {
    this.draining = true;
    this.maybeEnd();
  }

  private readonly onRequest = (req: KeysRequestOut | Malformed): void => {
    if (this.ended) return;
    if (isMalformed(req)) {
      this.server.countError(grpc.status.INVALID_ARGUMENT);
      this.fail({ code: grpc.status.INVALID_ARGUMENT, details: `malformed request: ${req[MALFORMED]}`, metadata: new grpc.Metadata() });
      return;
    }
    const c = this.server.streamCounters;
    c.calls++;
    const w = this.server.writer;
    const batch = req.batch;
    let group: ServedGroup;
    let keys: string[];
    try {
      if (this.draining) throw new ClosedError('node is shutting down');
      group = this.server.resolve(req);
      keys = this.server.decodeKeys(req.keys, group);
    } catch (err) {
      // The whole batch failed: the error for every key, so each caller gets it — unless that
      // answer would not fit one message (a batch far larger than any client sends): then the
      // stream ends with the error.
      const e = keyError(err);
      this.server.countError(e.status.code);
      if (req.keys.length * (16 + Buffer.byteLength(e.message) + (e.status.kind?.length ?? 0)) > w.maxBytes) {
        this.fail(statusObject(e.status));
        return;
      }
      w.begin();
      for (let i = 0; i < req.keys.length; i++) writeAnswer(w, e);
      this.call.write(w.finish({ batch }));
      return;
    }
    c.keys += keys.length;
    w.begin(this.server.expectedBytes(req.group, keys.length));
    let loading: Loading | undefined;
    let slots: number[] | undefined; // undefined while the answered keys are 0..i-1
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const cached = cachedAnswer(group, key);
      if (cached === undefined) {
        if (loading === undefined) {
          loading = new Loading(batch, 0);
          slots = [];
          for (let j = 0; j < i; j++) slots.push(j);
        }
        loading.remaining++;
        this.loading++;
        this.load(loading, group, key, i);
      } else {
        writeAnswer(w, cached);
        slots?.push(i);
      }
    }
    this.server.learnBytes(req.group, w.count, w.byteLength);
    if (loading === undefined) {
      this.call.write(w.finish({ batch }));
    } else if (w.count > 0) {
      this.call.write(w.finish({ batch, slots: slots!, more: true }));
    } else {
      w.begin(); // nothing cached: the first frame comes with the first load
    }
  };

  private load(loading: Loading, group: ServedGroup, key: string, slot: number): void {
    void loadAnswer(group, key).then((answer) => {
      loading.answers.push(answer);
      loading.slots.push(slot);
      loading.remaining--;
      this.loading--;
      if (!loading.queued) {
        loading.queued = true;
        this.ready.push(loading);
      }
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** One frame per batch whose loads settled in the turn just ended. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const w = this.server.writer;
    for (const l of this.ready.splice(0)) {
      l.queued = false;
      w.begin();
      for (const a of l.answers) writeAnswer(w, a);
      const frame = w.finish({ batch: l.batch, slots: l.slots, more: l.remaining > 0 });
      l.answers = [];
      l.slots = [];
      if (!this.ended) this.call.write(frame);
    }
    this.maybeEnd();
  };

  private readonly onEnd = (): void => {
    this.draining = true;
    this.maybeEnd();
  };

  private readonly onGone = (): void => {
    this.finish();
  };

  private maybeEnd(): void {
    if (!this.draining || this.ended || this.loading > 0 || this.flushScheduled) return;
    this.finish();
    this.call.end();
  }

  /** End the stream with an error status. */
  private fail(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.finish();
    this.call.emit('error', status);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.server.closed(this);
  }
}
