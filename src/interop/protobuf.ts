// A minimal protocol-buffers writer, enough to emit an ONNX model without a protobuf library: varints (wire
// type 0), 32-bit floats (5) and length-delimited bytes/strings/sub-messages (2). Repeated scalars are written
// unpacked (one tag per value), which every proto2 and proto3 parser accepts.

export class PbWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): this { this.parts.push(b); this.size += b.length; return this; }

  private rawVarint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v)); // negative int64 → ten-byte two's complement, as protobuf requires
    const out: number[] = [];
    while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    out.push(Number(x));
    return this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): this { return this.rawVarint((field << 3) | wire); }

  /** int32/int64/enum/bool field. */
  int(field: number, v: number | bigint): this { return this.tag(field, 0).rawVarint(v); }

  ints(field: number, vs: readonly number[]): this { for (const v of vs) this.int(field, v); return this; }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.tag(field, 5).push(b);
  }

  bytes(field: number, data: Uint8Array): this { return this.tag(field, 2).rawVarint(data.length).push(data); }

  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }

  message(field: number, m: PbWriter): this { return this.bytes(field, m.finish()); }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}
