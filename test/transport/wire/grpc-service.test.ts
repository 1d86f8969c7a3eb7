/**
 * A tiny gRPC client and server using the wire codec through grpc-js's custom serializers, and
 * both talking to the proto-loader (dynamic protobufjs) codec over a real connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  GetManyResponseEncoder,
  ItemStatus,
  peerWireService,
  type GetManyResult,
  type KeysRequestOut,
} from '../../../src/transport/wire/index.js';
import { isMalformed, MALFORMED, peerService, type GetManyResponse } from '../../../src/transport/proto.js';

/** The server's memory: values by key (a stand-in for the cache's arena). */
const store = new Map<string, Buffer>([
  ['a', Buffer.from('alpha')],
  ['ключ', Buffer.from('значение')],
  ['big', Buffer.alloc(70_000, 3)],
]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** GetMany the way the server will do it: size pass over the lookups, then one copy per value. */
function getMany(call: grpc.ServerUnaryCall<KeysRequestOut, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
  const req = call.request;
  if (isMalformed(req)) return cb({ code: grpc.status.INVALID_ARGUMENT, details: `malformed request: ${req[MALFORMED]}` });
  const found: Array<Buffer | undefined> = req.keys.map((k) => store.get(utf8.decode(k)));
  const enc = new GetManyResponseEncoder({ capacity: found.length, maxBytes: 64 << 10 });
  for (const v of found) {
    if (v) enc.found(v.length);
    else enc.notFound();
  }
  cb(null, enc.finish((i, dst, at) => found[i]!.copy(dst, at)));
}

let server: grpc.Server;
let address: string;
let dynamicServer: grpc.Server;
let dynamicAddress: string;

const bind = (s: grpc.Server) =>
  new Promise<string>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(`127.0.0.1:${port}`))),
  );

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(peerWireService() as unknown as grpc.ServiceDefinition, { GetMany: getMany });
  address = await bind(server);
  // The same service served with proto-loader's codec, as nodes do today.
  dynamicServer = new grpc.Server();
  dynamicServer.addService(peerService() as unknown as grpc.ServiceDefinition, {
    GetMany: (call: grpc.ServerUnaryCall<{ keys: Buffer[] }, GetManyResponse>, cb: grpc.sendUnaryData<GetManyResponse>) =>
      cb(null, {
        items: call.request.keys.map((k) => {
          const v = store.get(k.toString());
          return v ? { status: 'FOUND', value: v } : { status: 'NOT_FOUND' };
        }),
      }),
  });
  dynamicAddress = await bind(dynamicServer);
});

afterAll(() => {
  server.forceShutdown();
  dynamicServer.forceShutdown();
});

const Peer = grpc.makeGenericClientConstructor(peerWireService() as unknown as grpc.ServiceDefinition, 'Peer');
type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;
const call = <T>(client: grpc.Client, method: string, req: unknown) =>
  new Promise<T>((resolve, reject) =>
    (client as unknown as Record<string, (r: unknown, cb: Callback<T>) => void>)[method]!(req, (err, res) => (err ? reject(err) : resolve(res!))),
  );

describe('the wire codec over grpc-js', () => {
  it('a generic client made from peerWireService() calls GetMany on a server using it', async () => {
    const client = new Peer(address, grpc.credentials.createInsecure());
    try {
      const res = await call<GetManyResult>(client, 'getMany', { group: 'g', keys: ['a', 'missing', 'ключ', 'big'] });
      expect(res.status).toEqual([ItemStatus.FOUND, ItemStatus.NOT_FOUND, ItemStatus.FOUND, ItemStatus.TOO_LARGE]);
      expect(Buffer.from(res.values[0]!).toString()).toBe('alpha');
      expect(Buffer.from(res.values[2]!).toString()).toBe('значение');
    } finally {
      client.close();
    }
  });

  it('the proto-loader codec reads what the wire codec serves', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const def = peerService().GetMany as unknown as grpc.MethodDefinition<object, GetManyResponse>;
    try {
      const res = await new Promise<GetManyResponse>((resolve, reject) =>
        client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { group: 'g', keys: [Buffer.from('ключ'), Buffer.from('x')] }, (err, r) =>
          err ? reject(err) : resolve(r!),
        ),
      );
      expect(res.items.map((i) => i.status)).toEqual(['FOUND', 'NOT_FOUND']);
      expect(Buffer.from(res.items[0]!.value!).toString()).toBe('значение');
    } finally {
      client.close();
    }
  });

  it('the wire codec reads what the proto-loader codec serves', async () => {
    const client = new Peer(dynamicAddress, grpc.credentials.createInsecure());
    try {
      const res = await call<GetManyResult>(client, 'getMany', { group: 'g', keys: ['a', 'nope'] });
      expect(res.status).toEqual([ItemStatus.FOUND, ItemStatus.NOT_FOUND]);
      expect(Buffer.from(res.values[0]!).toString()).toBe('alpha');
    } finally {
      client.close();
    }
  });

  it('an undecodable request reaches the handler as MALFORMED and is answered INVALID_ARGUMENT', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const def = peerWireService().GetMany;
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(def.path, (b: Buffer) => b, def.responseDeserialize, Buffer.from([0x12, 0x09, 0x00]), (e) => resolve(e!)),
      );
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/malformed arenacache.v1.GetManyRequest at byte 1: length 9 runs past the end/);
    } finally {
      client.close();
    }
  });
});
