// The zip reader on archives built by hand here (independent of the reader): stored and deflated entries,
// ZIP64 central-directory fields and end records, a trailing comment; and damaged archives as ZIP_CORRUPT errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { crc32, readZip } from '../../src/interop/zip.js';
import { CharlmError } from '../../src/errors.js';

interface Item { name: string; data: Uint8Array; deflate?: boolean }

/** A zip archive; with zip64 every size/offset in the central directory and EOCD is 0xffff… plus ZIP64 records. */
function buildZip(items: Item[], opts: { zip64?: boolean; comment?: string; method?: number } = {}): Uint8Array {
  const parts: Buffer[] = [], central: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const body = it.deflate ? deflateRawSync(it.data) : Buffer.from(it.data);
    const name = Buffer.from(it.name), method = opts.method ?? (it.deflate ? 8 : 0), crc = crc32(it.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(method, 8); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18); local.writeUInt32LE(it.data.length, 22); local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const extra = Buffer.alloc(opts.zip64 ? 28 : 0);
    if (opts.zip64) {
      extra.writeUInt16LE(1, 0); extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(it.data.length), 4); extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46), big = 0xffffffff;
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(method, 10); c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(opts.zip64 ? big : body.length, 20); c.writeUInt32LE(opts.zip64 ? big : it.data.length, 24);
    c.writeUInt16LE(name.length, 28); c.writeUInt16LE(extra.length, 30); c.writeUInt32LE(opts.zip64 ? big : offset, 42);
    central.push(c, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central), cdOffset = offset, tail: Buffer[] = [];
  if (opts.zip64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0); z.writeBigUInt64LE(44n, 4); z.writeBigUInt64LE(BigInt(items.length), 24);
    z.writeBigUInt64LE(BigInt(items.length), 32); z.writeBigUInt64LE(BigInt(cd.length), 40); z.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0); loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8); loc.writeUInt32LE(1, 16);
    tail.push(z, loc);
  }
  const comment = Buffer.from(opts.comment ?? ''), e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(opts.zip64 ? 0xffff : items.length, 8); e.writeUInt16LE(opts.zip64 ? 0xffff : items.length, 10);
  e.writeUInt32LE(opts.zip64 ? 0xffffffff : cd.length, 12); e.writeUInt32LE(opts.zip64 ? 0xffffffff : cdOffset, 16);
  e.writeUInt16LE(comment.length, 20);
  return new Uint8Array(Buffer.concat([...parts, cd, ...tail, e, comment]));
}

const ITEMS: Item[] = [
  { name: 'm/data.pkl', data: new TextEncoder().encode('pickle bytes') },
  { name: 'm/data/0', data: new Uint8Array(4000).map((_, i) => i % 7), deflate: true },
];

function corrupt(bytes: Uint8Array, mention: string): void {
  assert.throws(() => { const z = readZip(bytes, 'x.pth'); for (const n of z.entries.keys()) z.read(n); },
    (e: unknown) => e instanceof CharlmError && e.code === 'ZIP_CORRUPT' && e.message.includes(mention));
}

test('stored, deflated, ZIP64 and commented archives read back exactly', () => {
  for (const opts of [{}, { zip64: true }, { comment: 'saved by hand' }, { zip64: true, comment: 'PK\x05\x06 decoy' }]) {
    const zip = readZip(buildZip(ITEMS, opts), 'x.zip');
    assert.deepEqual([...zip.entries.keys()], ITEMS.map((i) => i.name));
    for (const it of ITEMS) assert.deepEqual(zip.read(it.name), it.data, JSON.stringify(opts));
  }
});

test('damaged archives are ZIP_CORRUPT errors naming the problem', () => {
  const good = buildZip(ITEMS);
  corrupt(good.subarray(0, good.length - 30), 'end-of-central-directory');
  corrupt(new Uint8Array(10), 'end-of-central-directory');
  corrupt(buildZip(ITEMS, { method: 12 }), 'compression method 12');
  const flipped = good.slice(); flipped[50] ^= 1; // inside m/data.pkl's stored bytes
  corrupt(flipped, 'CRC-32');
  const deflated = good.slice(); deflated[100] ^= 0xff; // inside the deflate stream
  corrupt(deflated, 'm/data/0');
  const cut = good.slice(); // a central directory that points past the end of the file
  new DataView(cut.buffer).setUint32(cut.length - 6, good.length, true);
  corrupt(cut, 'central directory');
});
