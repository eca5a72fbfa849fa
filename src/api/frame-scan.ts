/**
 * A structural pass over a msgpack frame before it is decoded: one walk over the bytes that checks the
 * frame is exactly one well-formed value, uses none of msgpack's extension types (msgpackr would otherwise
 * build Dates, Sets, Errors, RegExps or records from them), keys every map with a string, and nests no
 * deeper than a bound. On the way it measures each element of the top-level `jobs` array, so the gateway
 * can refuse one oversized job spec without encoding anything again.
 *
 * It allocates nothing but the sizes list, and only reads headers (string and binary bodies are skipped by
 * their length), so it costs a small fraction of decoding.
 */

/** Where the scan failed and why; `undefined` when the frame is well formed. */
export interface ScanResult {
  readonly error: string | undefined;
  /** Encoded size of each element of the top-level map's `jobs` array (when asked for and present). */
  readonly jobSizes: readonly number[] | undefined;
  /** Where the top-level map's `jobs` array lies (when it is one, under the only `jobs` key). */
  readonly jobs?: JobsRange;
}

/** The `jobs` array of a frame: its bytes `[start, end)` and where each element starts. */
export interface JobsRange {
  readonly start: number;
  readonly end: number;
  readonly starts: readonly number[];
}

const OK_NO_JOBS: ScanResult = { error: undefined, jobSizes: undefined };

class ScanError extends Error {}

class Scanner {
  readonly #b: Uint8Array;
  readonly #view: DataView;
  readonly #maxDepth: number;
  pos = 0;

  constructor(bytes: Uint8Array, maxDepth: number) {
    this.#b = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#maxDepth = maxDepth;
  }

  #need(n: number): void {
    if (this.pos + n > this.#b.length) throw new ScanError(`truncated at byte ${this.pos}`);
  }

  #u8(): number {
    this.#need(1);
    return this.#b[this.pos++]!;
  }

  #u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  #u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  #skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }

  /**
   * Reads a container header whose fix form is `fix`..`fix + 15` and whose 16- and 32-bit forms are `b16`
   * and `b16 + 1`: the element count, or -1 (nothing read) if the value here is not that container.
   */
  #header(fix: number, b16: number): number {
    const b = this.#b[this.pos];
    if (b === undefined) throw new ScanError('truncated');
    if (b >= fix && b <= fix + 0x0f) {
      this.pos++;
      return b & 0x0f;
    }
    if (b === b16) return (this.pos++, this.#u16());
    if (b === b16 + 1) return (this.pos++, this.#u32());
    return -1;
  }

  mapHeader(): number {
    return this.#header(0x80, 0xde);
  }

  arrayHeader(): number {
    return this.#header(0x90, 0xdc);
  }

  /** Reads a string and says whether it is `jobs` (the one key the scan looks for); throws if not a string. */
  key(): boolean {
    const b = this.#u8();
    let n: number;
    if (b >= 0xa0 && b <= 0xbf) n = b & 0x1f;
    else if (b === 0xd9) n = this.#u8();
    else if (b === 0xda) n = this.#u16();
    else if (b === 0xdb) n = this.#u32();
    else throw new ScanError(`a map key at byte ${this.pos - 1} is not a string`);
    this.#need(n);
    const p = this.pos;
    const b8 = this.#b;
    const isJobs = n === 4 && b8[p] === 0x6a && b8[p + 1] === 0x6f && b8[p + 2] === 0x62 && b8[p + 3] === 0x73;
    this.pos += n;
    return isJobs;
  }

  /** Skips one value, checking it on the way. */
  value(depth: number): void {
    if (depth > this.#maxDepth) throw new ScanError(`nested deeper than ${this.#maxDepth}`);
    const b = this.#u8();
    if (b <= 0x7f || b >= 0xe0) return; // fixints
    if (b <= 0x8f) return this.#entries(b & 0x0f, depth);
    if (b <= 0x9f) return this.#items(b & 0x0f, depth);
    if (b <= 0xbf) return this.#skip(b & 0x1f);
    switch (b) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        return;
      case 0xc4: // bin 8
      case 0xd9: // str 8
        return this.#skip(this.#u8());
      case 0xc5:
      case 0xda:
        return this.#skip(this.#u16());
      case 0xc6:
      case 0xdb:
        return this.#skip(this.#u32());
      case 0xca: // float 32
      case 0xce: // uint 32
      case 0xd2: // int 32
        return this.#skip(4);
      case 0xcb:
      case 0xcf:
      case 0xd3:
        return this.#skip(8);
      case 0xcc:
      case 0xd0:
        return this.#skip(1);
      case 0xcd:
      case 0xd1:
        return this.#skip(2);
      case 0xdc:
        return this.#items(this.#u16(), depth);
      case 0xdd:
        return this.#items(this.#u32(), depth);
      case 0xde:
        return this.#entries(this.#u16(), depth);
      case 0xdf:
        return this.#entries(this.#u32(), depth);
      default: // 0xc1 (never used) and the extension types 0xc7-0xc9, 0xd4-0xd8
        throw new ScanError(b === 0xc1 ? `byte ${this.pos - 1} is not msgpack (0xc1)` : `byte ${this.pos - 1} starts a msgpack extension type, which the protocol does not use`);
    }
  }

  #items(n: number, depth: number): void {
    // Each item takes at least one byte: a count past the bytes left is a lie, refused before looping.
    this.#need(n);
    for (let i = 0; i < n; i++) this.value(depth + 1);
  }

  #entries(n: number, depth: number): void {
    this.#need(2 * n);
    for (let i = 0; i < n; i++) {
      this.key();
      this.value(depth + 1);
    }
  }

  get done(): boolean {
    return this.pos === this.#b.length;
  }
}

/**
 * Checks `bytes` as one frame. With `measureJobs`, also returns the encoded size of each element of the
 * top-level `jobs` array (when the frame is a map with such an array).
 */
export function scanFrame(bytes: Uint8Array, maxDepth: number, measureJobs: boolean): ScanResult {
  const s = new Scanner(bytes, maxDepth);
  try {
    const entries = s.mapHeader();
    if (entries < 0) {
      s.value(0);
      if (!s.done) return { error: `${bytes.length - s.pos} bytes follow the frame's value`, jobSizes: undefined };
      return OK_NO_JOBS; // not a map: the caller refuses it with a clearer message after decoding
    }
    let jobSizes: number[] | undefined;
    let jobs: JobsRange | undefined;
    let jobsKeys = 0;
    for (let i = 0; i < entries; i++) {
      const isJobs = s.key();
      if (isJobs) {
        jobsKeys++;
        const start = s.pos;
        const n = s.arrayHeader();
        if (n >= 0) {
          // Each element's start (for the one-pass job reader, job-reader.ts); sizes only when asked for.
          const starts: number[] = [];
          if (measureJobs) jobSizes = [];
          for (let j = 0; j < n; j++) {
            const at = s.pos;
            starts.push(at);
            s.value(2);
            jobSizes?.push(s.pos - at);
          }
          jobs = { start, end: s.pos, starts };
          continue;
        }
      }
      s.value(1);
    }
    if (!s.done) return { error: `${bytes.length - s.pos} bytes follow the frame's value`, jobSizes: undefined };
    // A repeated `jobs` key: the decoder keeps the last; no range is given, so the frame is decoded whole.
    if (jobsKeys > 1) jobs = undefined;
    return jobSizes || jobs ? { error: undefined, jobSizes, ...(jobs ? { jobs } : {}) } : OK_NO_JOBS;
  } catch (err) {
    if (err instanceof ScanError) return { error: err.message, jobSizes: undefined };
    if (err instanceof RangeError) return { error: 'malformed msgpack', jobSizes: undefined };
    throw err;
  }
}
