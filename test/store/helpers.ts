/** Shared by the store tests: a logger that keeps its lines, a counting file-system seam, fixtures. */
import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/index.js';
import { openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions, type OpenFile } from '../../src/store/index.js';
import { openNodeFile } from '../../src/store/file-system.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A logger at `info` whose lines are kept, parsed, in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  // pino writes synchronously to a plain stream's write(); the lines are there when the call returns.
  return { logger: createLogger({ name: 'store', level: 'info', destination: { write: (s: string) => destination.write(s) } }), lines };
}

export interface FsCounts {
  /** write() calls on segment files. */
  segmentWrites: number;
  /** datasync()/sync() calls on segment files. */
  segmentSyncs: number;
}

/** The real file system, counting the writes and fsyncs that reach segment files; `fail` makes them throw. */
export function countingFs(): { openFile: OpenFile; counts: FsCounts; fail: { on: boolean } } {
  const counts: FsCounts = { segmentWrites: 0, segmentSyncs: 0 };
  const fail = { on: false };
  const openFile: OpenFile = async (path, flags) => {
    const file = await openNodeFile(path, flags);
    if (!/segment-\d+\.log$/.test(path)) return file;
    return {
      write: async (buffer, offset, length, position) => {
        counts.segmentWrites++;
        if (fail.on) throw Object.assign(new Error('EIO: injected write failure'), { code: 'EIO' });
        return file.write(buffer, offset, length, position);
      },
      datasync: async () => {
        counts.segmentSyncs++;
        return file.datasync();
      },
      sync: async () => {
        counts.segmentSyncs++;
        return file.sync();
      },
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
  };
  return { openFile, counts, fail };
}

/** Opens the store on `dir` with a silent logger (unless one is given) and recovers it. */
export async function openRecovered(dir: string, options: Partial<EmbeddedStoreOptions> = {}): Promise<{ store: EmbeddedStore; recovered: Awaited<ReturnType<EmbeddedStore['recover']>> }> {
  const store = await openEmbeddedStore({ logger: createLogger({ name: 'store', level: 'silent' }), ...options, dir });
  try {
    return { store, recovered: await store.recover() };
  } catch (err) {
    await store.close();
    throw err;
  }
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('segment-')).sort();
}
