/**
 * The control plane's copy of tasks' output, kept in the data folder (the `OutputKeeper` the gateway
 * writes agents' `output` chunks to and reads from when an agent cannot answer):
 *
 *   DATA/output/JOB/TASK.ATTEMPT.STREAM        a complete copy: a fixed-size header, then the kept bytes
 *   DATA/output/JOB/TASK.ATTEMPT.STREAM.part   one being shipped
 *
 * The header (`HEADER_BYTES`) says the stream's whole size and where the kept part starts, so one file
 * holds everything a read needs and one rename publishes it: a chunk at the stream's start truncates the
 * `.part`, a later one is written at its place (a repeated chunk overwrites itself), and the last one is
 * synced and renamed over the copy. A reader sees the old copy or the new one, never a part. Writes to one
 * stream are serialised (an agent that reconnected may repeat a chunk still being written).
 *
 * Retention: a job's folder goes when the job leaves the live state (`removeJobs`, fed by `JobsRetired`),
 * and `sweep` at start removes those of jobs retired while the server was down.
 */
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeptOutput, OutputChunk, OutputKeeper, OutputRef, WriteResult } from '../api/index.js';
import type { Logger } from '../log/index.js';

/** The folder under the data folder. */
export const OUTPUT_FOLDER = 'output';

/** `muster-output 1 SIZE FROM\n`, the numbers zero-padded to 16 digits (2^53 has 16): 50 bytes. */
const HEADER_BYTES = 50;
const MAGIC = 'muster-output 1 ';

/** What may name a folder: job ids as the scheduler makes them (and as agents' work folders accept them). */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

function header(size: number, from: number): Buffer {
  const text = `${MAGIC}${String(size).padStart(16, '0')} ${String(from).padStart(16, '0')}\n`;
  return Buffer.from(text);
}

function parseHeader(bytes: Buffer): { size: number; from: number } | undefined {
  const text = bytes.toString('latin1');
  const m = /^muster-output 1 (\d{16}) (\d{16})\n$/.exec(text);
  return m ? { size: Number(m[1]), from: Number(m[2]) } : undefined;
}

export class OutputFolder implements OutputKeeper {
  readonly keepBytes: number;
  readonly #dir: string;
  readonly #log: Logger;
  /** The last write of each stream in progress: the next waits for it. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(options: { readonly dataDir: string; readonly keepBytes: number; readonly log: Logger }) {
    this.keepBytes = options.keepBytes;
    this.#dir = join(options.dataDir, OUTPUT_FOLDER);
    this.#log = options.log;
  }

  #path(ref: OutputRef): string {
    return join(this.#dir, ref.job, `${ref.task}.${ref.attempt}.${ref.stream}`);
  }

  write(chunk: OutputChunk): Promise<WriteResult> {
    if (!JOB_ID.test(chunk.job)) return Promise.resolve({ ok: false, field: 'job', message: `job ${JSON.stringify(chunk.job)} is not a job id` });
    const key = this.#path(chunk);
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#write(chunk, key));
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  async #write(chunk: OutputChunk, path: string): Promise<WriteResult> {
    const part = `${path}.part`;
    const head = header(chunk.size, chunk.from);
    await mkdir(join(this.#dir, chunk.job), { recursive: true });
    const first = chunk.offset === chunk.from;
    const file = await open(part, first ? 'w' : 'r+').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!file) return { ok: false, field: 'offset', message: `no shipment of this stream is in progress: send it again from ${chunk.from}` };
    try {
      const at = HEADER_BYTES + (chunk.offset - chunk.from);
      if (first) await file.write(head, 0, HEADER_BYTES, 0);
      else {
        const found = Buffer.alloc(HEADER_BYTES);
        await file.read(found, 0, HEADER_BYTES, 0);
        const known = parseHeader(found);
        const { size } = await file.stat();
        if (!known || known.size !== chunk.size || known.from !== chunk.from || size < at) {
          return { ok: false, field: 'offset', message: `the shipment in progress does not reach offset ${chunk.offset} of this size: send it again from ${chunk.from}` };
        }
        await file.truncate(at);
      }
      await file.write(chunk.data, 0, chunk.data.length, at);
      if (chunk.last) await file.sync();
    } finally {
      await file.close();
    }
    if (chunk.last) await rename(part, path);
    return { ok: true };
  }

  async read(ref: OutputRef, offset: number, maxBytes: number): Promise<KeptOutput | undefined> {
    if (!JOB_ID.test(ref.job)) return undefined;
    const file = await open(this.#path(ref), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!file) return undefined;
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      await file.read(head, 0, HEADER_BYTES, 0);
      const known = parseHeader(head);
      if (!known) {
        this.#log.warn({ job: ref.job, task: ref.task, attempt: ref.attempt, stream: ref.stream }, 'a kept output file has no header: ignored');
        return undefined;
      }
      const start = Math.max(offset, known.from);
      const length = Math.max(0, Math.min(maxBytes, known.size - start));
      const data = Buffer.alloc(length);
      const { bytesRead } = length > 0 ? await file.read(data, 0, length, HEADER_BYTES + (start - known.from)) : { bytesRead: 0 };
      return { size: known.size, from: known.from, data: data.subarray(0, bytesRead) };
    } finally {
      await file.close();
    }
  }

  async removeJobs(jobs: readonly string[]): Promise<void> {
    for (const job of jobs) {
      if (!JOB_ID.test(job)) continue;
      await rm(join(this.#dir, job), { recursive: true, force: true }).catch((err: unknown) => this.#log.warn({ err, job }, 'could not remove the kept output of a retired job'));
    }
  }

  /** Removes the copies of every job not in `live` (retired while the server was down). */
  async sweep(live: (job: string) => boolean): Promise<number> {
    const names = await readdir(this.#dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const gone = names.filter((name) => !live(name));
    await this.removeJobs(gone);
    return gone.length;
  }
}
