/**
 * The field names of a raw BSON document in stored order, embedded documents as `name{...}` and
 * arrays as `name[...]`: `_id,z,a,b,x{a,b},list[0{k}]`. Read from the bytes, because a JS object lists
 * integer-like names ('1', '10') before all others whatever their order in the document.
 */
export function fieldLayout(bytes: Uint8Array, start = 0): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const names: string[] = [];
  const end = start + view.getInt32(start, true) - 1;
  let at = start + 4;
  while (at < end) {
    const type = bytes[at++];
    const nameEnd = bytes.indexOf(0, at);
    const name = Buffer.from(bytes.subarray(at, nameEnd)).toString('utf8');
    at = nameEnd + 1;
    if (type === 0x03) names.push(`${name}{${fieldLayout(bytes, at)}}`);
    else if (type === 0x04) names.push(`${name}[${fieldLayout(bytes, at)}]`);
    else names.push(name);
    at += valueLength(type, view, bytes, at);
  }
  return names.join(',');
}

function valueLength(type: number, view: DataView, bytes: Uint8Array, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // int64
      return 8;
    case 0x02: // string
    case 0x0d: // code
    case 0x0e: // symbol
      return 4 + view.getInt32(at, true);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return view.getInt32(at, true);
    case 0x05: // binary
      return 5 + view.getInt32(at, true);
    case 0x07: // ObjectId
      return 12;
    case 0x08: // boolean
      return 1;
    case 0x10: // int32
      return 4;
    case 0x13: // decimal128
      return 16;
    case 0x0b: {
      // regex: two C strings
      const first = bytes.indexOf(0, at);
      return bytes.indexOf(0, first + 1) + 1 - at;
    }
    case 0x06: // undefined
    case 0x0a: // null
    case 0x7f: // max key
    case 0xff: // min key
      return 0;
    default:
      throw new Error(`unexpected BSON type ${type}`);
  }
}
