// A minimal, defensive reader for the ZIP archives that torch.save writes (PyTorch ≥ 1.6): the central directory
// is parsed (ZIP64 records tolerated), entries are stored or deflated (node:zlib). Every length and offset is
// checked before use, so a truncated or corrupt archive is a CharlmError naming the problem, never a hang or crash.
import { inflateRawSync } from 'node:zlib';
import { CharlmError } from '../errors.js';

export interface ZipEntry {
  name: string;
  method: number;          // 0 stored, 8 deflate
  compressedSize: number;
  size: number;
  localOffset: number;
  crc: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The bytes of one entry (a view for stored entries); a CharlmError if it is damaged. */
  read(name: string): Uint8Array;
}

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50;
const SIG_Z64_LOCATOR = 0x07064b50, SIG_Z64_EOCD = 0x06064b50;
const MAX_ENTRY_BYTES = 2 ** 31; // a char model's tensor never comes close; refuses zip bombs

let CRC_TABLE: Uint32Array | null = null;

/** CRC-32 (ISO-HDLC, as zip uses); table-driven, ~1 GB/s. */
export function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export interface ZipLimits {
  /** Most entries the central directory may list. */
  maxEntries: number;
  /** Most bytes all reads together may produce (stored or inflated); checked against declared sizes first. */
  maxTotalBytes: number;
}

export function readZip(bytes: Uint8Array, source: string, limits: Partial<ZipLimits> = {}): ZipArchive {
  const maxEntries = limits.maxEntries ?? 65_536;
  let budget = limits.maxTotalBytes ?? Infinity;
  const overBudget = (what: string) => new CharlmError('ZIP_LIMIT',
    `${source}: ${what} would take the archive past ${budget === Infinity ? 'its' : 'the'} limit on unpacked bytes`,
    'the archive unpacks to far more than its size (a zip bomb, or a damaged file); if it is genuine, raise --max-inflate-ratio');
  const corrupt = (problem: string) => new CharlmError('ZIP_CORRUPT', `${source} is not a readable zip archive: ${problem}`,
    'the file is truncated or damaged; copy it again, or re-save it with torch.save(model.state_dict(), path)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  const u16 = (at: number) => dv.getUint16(at, true);
  const u32 = (at: number) => dv.getUint32(at, true);
  const u64 = (at: number, what: string) => {
    const v = dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} is ${v}`);
    return Number(v);
  };

  // End of central directory: 22 bytes + a comment of up to 65535 bytes, searched backwards.
  let eocd = -1;
  for (let at = n - 22; at >= Math.max(0, n - 22 - 0xffff); at--) {
    if (u32(at) === SIG_EOCD && at + 22 + u16(at + 20) === n) { eocd = at; break; }
  }
  if (eocd < 0) throw corrupt(`no end-of-central-directory record (${n} bytes; the file may be truncated)`);
  let count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(loc) !== SIG_Z64_LOCATOR) throw corrupt('ZIP64 fields without a ZIP64 locator');
    const z = u64(loc + 8, 'the ZIP64 record offset');
    if (z + 56 > n || u32(z) !== SIG_Z64_EOCD) throw corrupt('the ZIP64 end-of-central-directory record is missing');
    count = u64(z + 32, 'the entry count'); cdSize = u64(z + 40, 'the directory size'); cdOffset = u64(z + 48, 'the directory offset');
  }
  if (cdOffset + cdSize > n) throw corrupt(`the central directory [${cdOffset}, ${cdOffset + cdSize}) lies outside the ${n}-byte file`);
  if (count > cdSize / 46) throw corrupt(`${count} entries cannot fit in a ${cdSize}-byte central directory`);
  if (count > maxEntries) {
    throw new CharlmError('ZIP_LIMIT', `${source} lists ${count} entries (limit ${maxEntries})`,
      'a state_dict archive has one entry per tensor plus a few; if it is genuine, raise --max-layers');
  }

  const entries = new Map<string, ZipEntry>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let at = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || u32(at) !== SIG_CENTRAL) throw corrupt(`central directory entry ${i} is damaged`);
    const flags = u16(at + 8), method = u16(at + 10), crc = u32(at + 16);
    let compressedSize = u32(at + 20), size = u32(at + 24);
    const nameLen = u16(at + 28), extraLen = u16(at + 30), commentLen = u16(at + 32);
    let localOffset = u32(at + 42);
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > end) throw corrupt(`central directory entry ${i} runs past the directory`);
    const name = utf8.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    // ZIP64 extended information (id 1): the 64-bit values of whichever fields were 0xffffffff, in this order.
    for (let x = at + 46 + nameLen; x + 4 <= at + 46 + nameLen + extraLen;) {
      const id = u16(x), len = u16(x + 2);
      if (x + 4 + len > at + 46 + nameLen + extraLen) throw corrupt(`entry ${name} has a damaged extra field`);
      if (id === 1) {
        let p = x + 4;
        const take = (what: string) => {
          if (p + 8 > x + 4 + len) throw corrupt(`entry ${name} has a short ZIP64 field`);
          const v = u64(p, what); p += 8; return v;
        };
        if (size === 0xffffffff) size = take('the entry size');
        if (compressedSize === 0xffffffff) compressedSize = take('the compressed size');
        if (localOffset === 0xffffffff) localOffset = take('the entry offset');
      }
      x += 4 + len;
    }
    if (flags & 1) throw corrupt(`entry ${name} is encrypted`);
    if (method !== 0 && method !== 8) throw corrupt(`entry ${name} uses compression method ${method} (only stored and deflate are supported)`);
    if (size > MAX_ENTRY_BYTES) throw corrupt(`entry ${name} claims ${size} bytes`);
    if (method === 0 && size !== compressedSize) throw corrupt(`stored entry ${name} has size ${size} != ${compressedSize}`);
    entries.set(name, { name, method, compressedSize, size, localOffset, crc });
    at = next;
  }

  function read(name: string): Uint8Array {
    const e = entries.get(name);
    if (!e) throw corrupt(`it has no entry ${name}`);
    const lo = e.localOffset;
    if (lo + 30 > n || u32(lo) !== SIG_LOCAL) throw corrupt(`the local header of ${name} is missing or damaged`);
    const start = lo + 30 + u16(lo + 26) + u16(lo + 28);
    if (start + e.compressedSize > n) {
      throw corrupt(`entry ${name} needs bytes [${start}, ${start + e.compressedSize}) but the file has ${n} (truncated?)`);
    }
    if (e.size > budget) throw overBudget(`entry ${name} (${e.size} bytes)`);
    budget -= e.size;
    const raw = bytes.subarray(start, start + e.compressedSize);
    let out = raw;
    if (e.method === 8) {
      let buf: Buffer;
      try {
        buf = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        throw corrupt(`entry ${name} does not inflate: ${(err as Error).message}`);
      }
      if (buf.length !== e.size) throw corrupt(`entry ${name} inflates to ${buf.length} bytes, expected ${e.size}`);
      out = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    }
    if (crc32(out) !== e.crc) throw corrupt(`entry ${name} fails its CRC-32 check (the data is damaged)`);
    return out;
  }

  return { entries, read };
}
