/**
 * Decodes a GetManyResponse (or a HandoffResponse: the same items, plus `holds_nothing`) into
 * parallel arrays (see GetManyResult): one array pair per response, one view per value, no object
 * per item, no copy of any value. The whole message is validated before the caller sees anything,
 * so a corrupt response fails the batch as a whole instead of handing out values read from garbage.
 *
 * GetStream's fields (`batch`, `slots`, `more`) are read too; `slots` is accepted packed (as
 * proto3 writes it) and unpacked (as a decoder must also accept).
 */
import { Reader, WIRE_LEN, WIRE_VARINT } from './reader.js';
import { ItemStatus, MessageType, type GetManyResult, type HandoffResult, type ItemDetail } from './messages.js';

const EMPTY = new Uint8Array(0);

export function decodeGetManyResponse(buf: Uint8Array): GetManyResult {
  return decode(buf, MessageType.GetManyResponse);
}

export function decodeHandoffResponse(buf: Uint8Array): HandoffResult {
  return decode(buf, MessageType.HandoffResponse);
}

function decode(buf: Uint8Array, type: string): HandoffResult {
  const r = new Reader(buf, type);
  const handoff = type === MessageType.HandoffResponse;
  const status: number[] = [];
  const values: Array<Uint8Array | undefined> = [];
  let details: Array<ItemDetail | undefined> | undefined;
  let batch = 0;
  let more = false;
  let slots: number[] | undefined;
  let holdsNothing = false;
  while (r.next()) {
    const field: number = r.field;
    if (field !== 1) {
      if (handoff && field === 2) {
        r.expect(WIRE_VARINT);
        holdsNothing = r.bool();
      } else if (!handoff && field === 15) {
        r.expect(WIRE_VARINT);
        batch = r.uint32();
      } else if (!handoff && field === 14) {
        slots ??= [];
        if (r.wireType === WIRE_LEN) {
          const len = r.len();
          const outerEnd = r.end;
          r.end = r.pos + len;
          while (r.pos < r.end) slots.push(r.uint32());
          r.end = outerEnd;
        } else {
          r.expect(WIRE_VARINT);
          slots.push(r.uint32());
        }
      } else if (!handoff && field === 13) {
        r.expect(WIRE_VARINT);
        more = r.bool();
      } else r.skip();
      continue;
    }
    r.expect(WIRE_LEN);
    const len = r.len();
    const outerEnd = r.end;
    r.end = r.pos + len; // the item, parsed in place by narrowing the reader
    let st = 0;
    let value: Uint8Array | undefined;
    let code = 0;
    let kind = '';
    let message = '';
    let detailed = false;
    while (r.next()) {
      const itemField: number = r.field;
      switch (itemField) {
        case 1:
          r.expect(WIRE_VARINT);
          st = r.int32();
          break;
        case 2:
          r.expect(WIRE_LEN);
          value = r.bytes();
          break;
        case 3:
          r.expect(WIRE_VARINT);
          code = r.int32();
          detailed = true;
          break;
        case 4:
          r.expect(WIRE_LEN);
          kind = r.string();
          detailed = true;
          break;
        case 5:
          r.expect(WIRE_LEN);
          message = r.string();
          detailed = true;
          break;
        default:
          r.skip();
      }
    }
    r.end = outerEnd;
    const i = status.length;
    status.push(st);
    values.push(value === undefined && st === ItemStatus.FOUND ? EMPTY : value);
    if (detailed) {
      details ??= [];
      details[i] = { code, kind, message };
    }
  }
  if (details !== undefined && details.length < status.length) details.length = status.length;
  return { count: status.length, status, values, details, batch, slots, more, holdsNothing };
}
