/**
 * A fake owner node for client tests: a real gRPC server speaking arenacache.v1.Peer (the wire
 * codec) that answers nothing on its own. Every GetStream batch and every GetMany call it receives
 * waits in `pending` until the test answers it — all at once or over several frames, in any order,
 * with per-key errors — fails it, or never answers. `stream: false` leaves GetStream out (an older
 * node: UNIMPLEMENTED).
 */
import { EventEmitter, once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ERROR_KIND_KEY } from '../../src/transport/proto.js';
import { encodeGetManyResponse, ItemStatus, peerWireService, type GetManyItemIn, type KeysRequestOut } from '../../src/transport/wire/index.js';

export interface PendingBatch {
  kind: 'stream' | 'unary';
  group: string;
  keys: string[];
  /** Slots not answered yet. */
  open: Set<number>;
  /** Stream batches: their call and id. */
  call?: grpc.ServerDuplexStream<KeysRequestOut, Buffer>;
  batch?: number;
  /** Unary batches: the callback. */
  cb?: grpc.sendUnaryData<Buffer>;
}

export type Answer = { slot: number; value: Uint8Array } | { slot: number; error: { code: number; kind: string; message: string } } | { slot: number; notFound: true };

const utf8 = new TextDecoder();

export class ScriptedPeer extends EventEmitter {
  readonly server = new grpc.Server();
  readonly pending: PendingBatch[] = [];
  readonly calls = new Set<grpc.ServerDuplexStream<KeysRequestOut, Buffer>>();
  address = '';

  constructor(readonly options: { stream: boolean }) {
    super();
    const svc = peerWireService();
    const impl: grpc.UntypedServiceImplementation = {
      GetMany: (call: grpc.ServerUnaryCall<KeysRequestOut, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        this.add({ kind: 'unary', group: call.request.group, keys: call.request.keys.map((k) => utf8.decode(k)), open: new Set(call.request.keys.map((_, i) => i)), cb });
      },
    };
    const def: Record<string, unknown> = { GetMany: svc.GetMany };
    if (options.stream) {
      def.GetStream = svc.GetStream;
      impl.GetStream = (call: grpc.ServerDuplexStream<KeysRequestOut, Buffer>) => {
        this.calls.add(call);
        call.on('data', (req: KeysRequestOut) => {
          const keys = req.keys.map((k) => utf8.decode(k));
          this.add({ kind: 'stream', group: req.group, keys, open: new Set(keys.map((_, i) => i)), call, batch: req.batch });
        });
        call.on('end', () => call.end());
        call.on('error', () => this.calls.delete(call));
        call.on('cancelled', () => this.calls.delete(call));
      };
    }
    this.server.addService(def as unknown as grpc.ServiceDefinition, impl);
  }

  static async start(options: { stream: boolean }): Promise<ScriptedPeer> {
    const p = new ScriptedPeer(options);
    const port = await new Promise<number>((resolve, reject) =>
      p.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    p.address = `127.0.0.1:${port}`;
    return p;
  }

  /** Resolves once a batch is pending (at once if one is), or after `timeoutMs` with false. */
  async nextBatch(timeoutMs: number): Promise<boolean> {
    if (this.pending.length > 0) return true;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      await once(this, 'batch', { signal: ac.signal });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Answer some slots of a pending batch. Stream batches: one frame (`more` while slots stay
   * open). Unary batches take all their answers in one response, in order (`answers` must cover
   * every slot).
   */
  answer(b: PendingBatch, answers: Answer[]): void {
    const items: GetManyItemIn[] = answers.map((a) =>
      'value' in a ? { status: ItemStatus.FOUND, value: a.value } : 'error' in a ? { status: ItemStatus.ERROR, ...a.error } : { status: ItemStatus.NOT_FOUND },
    );
    for (const a of answers) b.open.delete(a.slot);
    if (b.kind === 'unary') {
      this.done(b);
      b.cb!(null, encodeGetManyResponse(items));
      return;
    }
    if (b.open.size === 0) this.done(b);
    b.call!.write(encodeGetManyResponse(items, undefined, { batch: b.batch!, slots: answers.map((a) => a.slot), more: b.open.size > 0 }));
  }

  /** Fail a batch as a whole: a unary call's status, or the whole stream it rode (every batch on it). */
  fail(b: PendingBatch, code: number, details: string, kind?: string): void {
    const metadata = new grpc.Metadata();
    if (kind !== undefined) metadata.set(ERROR_KIND_KEY, kind);
    if (b.kind === 'unary') {
      this.done(b);
      b.cb!({ code, details, metadata });
      return;
    }
    for (const x of [...this.pending]) if (x.call === b.call) this.done(x);
    this.calls.delete(b.call!);
    b.call!.emit('error', { code, details, metadata });
  }

  /** Forget a batch without answering it (its callers time out). */
  drop(b: PendingBatch): void {
    this.done(b);
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }

  private add(b: PendingBatch): void {
    this.pending.push(b);
    this.emit('batch');
  }

  private done(b: PendingBatch): void {
    const i = this.pending.indexOf(b);
    if (i >= 0) this.pending.splice(i, 1);
  }
}
