// Transport study, owner side (its own process): values held in an ArenaCache, served over
// grpc-js three ways at once — the wire codec (unary Get/GetMany and a bidirectional stream of
// batch frames) on one port, proto-loader's dynamic codec (what nodes run today) on another.
// Driven over IPC: {cmd:'cpu'} → {type:'cpu', cpu, keys}; {cmd:'close'}.
import * as grpc from '@grpc/grpc-js';
import { batchHead, readBatchId } from '../lib/batch-frame.mjs';

const cfg = JSON.parse(process.argv[2]);
const DIST = new URL('../../dist/', import.meta.url);
const { ArenaCache } = await import(new URL('core/index.js', DIST).href);
const wire = await import(new URL('transport/wire/index.js', DIST).href);
const { peerService } = await import(new URL('transport/proto.js', DIST).href);

const MAX_MESSAGE = (8 << 20) + (64 << 10);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const cache = await ArenaCache.create({ maxBytes: 64 << 20, segments: 16 });
for (const g of cfg.groups) {
  for (let i = 0; i < g.keyCount; i++) {
    const v = new Uint8Array(g.size).fill(i & 255);
    cache.set(`${g.name}:${i}`, v);
  }
}
let keysServed = 0;

/** The response for a batch of keys: one lookup (a pooled copy out of the arena) per key, one encode. */
function answer(keys, head) {
  const enc = new wire.GetManyResponseEncoder({ capacity: keys.length, maxBytes: MAX_MESSAGE - (16 << 10) });
  for (let i = 0; i < keys.length; i++) {
    const v = cache.get(utf8.decode(keys[i]));
    if (v === undefined) enc.notFound();
    else enc.foundValue(v);
  }
  keysServed += keys.length;
  return enc.finish(undefined, head);
}

const svc = wire.peerWireService();
const stream = {
  path: '/arenacache.v1.Peer/GetStream',
  requestStream: true,
  responseStream: true,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};
const wireServer = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
wireServer.addService({ Get: svc.Get, GetMany: svc.GetMany, GetStream: stream }, {
  GetMany: (call, cb) => cb(null, answer(call.request.keys)),
  Get: (call, cb) => {
    const v = cache.get(utf8.decode(call.request.key));
    keysServed++;
    if (v === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'not found' });
    else cb(null, wire.encodeGetResponse(v));
  },
  GetStream: (call) => {
    call.on('data', (frame) => {
      const id = readBatchId(frame);
      const req = wire.decodeGetManyRequest(frame); // skips the id (field 15)
      call.write(answer(req.keys, batchHead(id)));
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
});

// Today's path: proto-loader's codec, status strings, objects per item.
const dyn = peerService();
const dynServer = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
dynServer.addService({ Get: dyn.Get, GetMany: dyn.GetMany }, {
  GetMany: (call, cb) => {
    const keys = call.request.keys;
    const items = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const v = cache.get(utf8.decode(keys[i]));
      items[i] = v === undefined ? { status: 'NOT_FOUND' } : { status: 'FOUND', value: v };
    }
    keysServed += keys.length;
    cb(null, { items });
  },
  Get: (call, cb) => {
    const v = cache.get(utf8.decode(call.request.key));
    keysServed++;
    if (v === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'not found' });
    else cb(null, { value: v });
  },
});

const bind = (s, port) =>
  new Promise((resolve, reject) => s.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
await bind(wireServer, cfg.wirePort);
await bind(dynServer, cfg.dynPort);

process.on('message', (m) => {
  if (m.cmd === 'cpu') process.send({ type: 'cpu', cpu: process.cpuUsage(), keys: keysServed });
  else if (m.cmd === 'close') {
    wireServer.forceShutdown();
    dynServer.forceShutdown();
    process.send({ type: 'closed' }, () => process.exit(0));
  }
});
process.send({ type: 'ready' });
