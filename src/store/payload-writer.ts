/**
 * The log's msgpack writer for plain data: byte for byte what the store's msgpackr packer writes
 * (`useRecords: false, variableMapSize: true`) for strings, numbers, booleans, null, arrays and plain
 * objects, so a record written here and one written by msgpackr are the same bytes and every reader of the
 * log (recovery, history, replay, etcd followers) reads both alike. Anything else (undefined, bigints,
 * binary, class instances) is not written here: `writePlain` answers `undefined` and the caller falls back
 * to msgpackr.
 *
 * Why not msgpackr for everything: on the accept path every job's `JobSubmitted` record went through
 * msgpackr's general `pack` (extension checks per object, a key array per object), 14 % of a saturated
 * server's CPU. This writer knows only plain data, and it copies in the bytes of a spec part that the
 * interner shares between jobs (`isSharedPart`, src/model/intern.ts) instead of walking it again: such a
 * part is immutable, so its bytes, written once, stay right for as long as the part lives.
 */
import { isSharedPart } from '../model/index.js';

/** First size of the scratch buffer; it doubles as needed and is kept. */
const INITIAL_BYTES = 16 * 1024;
/** Strings this long or longer are encoded natively (`Buffer.write`); shorter ones by a loop, like msgpackr. */
const NATIVE_STRING_CHARS = 64;

/** Thrown inside the writer for a value it does not write; caught at the top. */
const NOT_PLAIN: unique symbol = Symbol('not plain');

/** The bytes of shared parts, by part (weak: a part no job holds any more takes its bytes with it). */
const partBytes = new WeakMap<object, Uint8Array>();

class PlainWriter {
  buf = Buffer.allocUnsafe(INITIAL_BYTES);
  pos = 0;

  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A container header: fix form `fix | n` below 16, else the 16- or 32-bit form `b16`, `b16 + 1`. */
  header(n: number, fix: number, b16: number): void {
    this.#room(5);
    const b = this.buf;
    if (n < 0x10) b[this.pos++] = fix | n;
    else if (n < 0x10000) {
      b[this.pos++] = b16;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = b16 + 1;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  string(s: string): void {
    const chars = s.length;
    // The header's size is reserved from the worst case (3 bytes per UTF-16 unit) and fixed afterwards.
    const headerSize = chars < 0x20 ? 1 : chars < 0x100 ? 2 : chars < 0x10000 ? 3 : 5;
    // (+5: a header that turns out longer than reserved moves the bytes right.)
    this.#room(headerSize + chars * 3 + 5);
    const b = this.buf;
    let p = this.pos + headerSize;
    let length: number;
    if (chars < NATIVE_STRING_CHARS) {
      for (let i = 0; i < chars; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) b[p++] = c;
        else if (c < 0x800) {
          b[p++] = (c >> 6) | 0xc0;
          b[p++] = (c & 0x3f) | 0x80;
        } else if ((c & 0xfc00) === 0xd800 && ((s.charCodeAt(i + 1) & 0xfc00) === 0xdc00)) {
          c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(++i) & 0x03ff);
          b[p++] = (c >> 18) | 0xf0;
          b[p++] = ((c >> 12) & 0x3f) | 0x80;
          b[p++] = ((c >> 6) & 0x3f) | 0x80;
          b[p++] = (c & 0x3f) | 0x80;
        } else {
          // A lone surrogate is written as its three bytes, as msgpackr's loop does (not as U+FFFD).
          b[p++] = (c >> 12) | 0xe0;
          b[p++] = ((c >> 6) & 0x3f) | 0x80;
          b[p++] = (c & 0x3f) | 0x80;
        }
      }
      length = p - this.pos - headerSize;
    } else {
      length = b.write(s, p, 'utf8');
    }
    const at = this.pos;
    if (length < 0x20) {
      if (headerSize > 1) b.copyWithin(at + 1, at + headerSize, at + headerSize + length);
      b[at] = 0xa0 | length;
      this.pos = at + 1 + length;
    } else if (length < 0x100) {
      if (headerSize !== 2) b.copyWithin(at + 2, at + headerSize, at + headerSize + length);
      b[at] = 0xd9;
      b[at + 1] = length;
      this.pos = at + 2 + length;
    } else if (length < 0x10000) {
      if (headerSize !== 3) b.copyWithin(at + 3, at + headerSize, at + headerSize + length);
      b[at] = 0xda;
      b[at + 1] = length >> 8;
      b[at + 2] = length & 0xff;
      this.pos = at + 3 + length;
    } else {
      if (headerSize !== 5) b.copyWithin(at + 5, at + headerSize, at + headerSize + length);
      b[at] = 0xdb;
      b.writeUInt32BE(length, at + 1);
      this.pos = at + 5 + length;
    }
  }

  number(v: number): void {
    this.#room(9);
    const b = this.buf;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >> 8;
        b[this.pos++] = v & 0xff;
      } else {
        b[this.pos++] = 0xce;
        b.writeUInt32BE(v, this.pos);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = 0x100 + v;
      else if (v >= -0x80) {
        b[this.pos++] = 0xd0;
        b[this.pos++] = v + 0x100;
      } else if (v >= -0x8000) {
        b[this.pos++] = 0xd1;
        b.writeInt16BE(v, this.pos);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        b.writeInt32BE(v, this.pos);
        this.pos += 4;
      }
    } else {
      // Past 32 bits, and every fraction: a double, as msgpackr writes them without `useFloat32`.
      b[this.pos++] = 0xcb;
      b.writeDoubleBE(v, this.pos);
      this.pos += 8;
    }
  }

  bytes(part: Uint8Array): void {
    this.#room(part.length);
    this.buf.set(part, this.pos);
    this.pos += part.length;
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        this.#room(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (v === null) {
          this.#room(1);
          this.buf[this.pos++] = 0xc0;
          return;
        }
        return this.#container(v);
      default:
        throw NOT_PLAIN;
    }
  }

  #container(v: object): void {
    const shared = isSharedPart(v);
    if (shared) {
      const cached = partBytes.get(v);
      if (cached !== undefined) return this.bytes(cached);
    }
    const start = this.pos;
    const constructor = v.constructor;
    if (constructor === Array) {
      const list = v as readonly unknown[];
      this.header(list.length, 0x90, 0xdc);
      for (let i = 0; i < list.length; i++) this.value(list[i]);
    } else if (constructor === Object) {
      const record = v as Readonly<Record<string, unknown>>;
      const keys = Object.keys(record);
      this.header(keys.length, 0x80, 0xde);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        this.string(key);
        this.value(record[key]);
      }
    } else {
      throw NOT_PLAIN;
    }
    if (shared) partBytes.set(v, new Uint8Array(this.buf.subarray(start, this.pos))); // a copy: the scratch is rewritten
  }
}

const writer = new PlainWriter();

/**
 * `value`'s msgpack, as msgpackr would write it, or `undefined` when it holds something other than plain
 * data. The bytes are a view into the writer's scratch memory: copy them before the next call.
 */
export function writePlain(value: unknown): Uint8Array | undefined {
  writer.pos = 0;
  try {
    writer.value(value);
  } catch (err) {
    // Not plain data, or nested past the stack (a cycle): msgpackr writes it, or names the problem.
    if (err === NOT_PLAIN || err instanceof RangeError) return undefined;
    throw err;
  }
  return writer.buf.subarray(0, writer.pos);
}
