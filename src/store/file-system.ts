/**
 * The file-system seam: every file the store writes (segments, snapshots, the meta file) is opened through
 * an `OpenFile`, so a test can count or fail writes and fsyncs while the bytes still reach real files
 * (fault-injection.ts does it in a real server). The default is `node:fs/promises` `open`. Reads, listings,
 * renames and unlinks use `node:fs` directly.
 */
import { open } from 'node:fs/promises';

/** The part of a `FileHandle` the store uses. */
export interface StoreFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** fdatasync: the data and the size, not necessarily the other metadata. */
  datasync(): Promise<void>;
  /** fsync: data and metadata (directories use this). */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** `r` (directories, for fsync), `r+` (an existing segment), `wx` (a new file, which must not exist). */
export type OpenFlags = 'r' | 'r+' | 'wx';

export type OpenFile = (path: string, flags: OpenFlags) => Promise<StoreFile>;

export const openNodeFile: OpenFile = (path, flags) => open(path, flags);

/** Writes all of `bytes` at `position` (a regular file may take a write in several parts). */
export async function writeAll(file: StoreFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * `err` with the file it happened on: Node's errors from a `FileHandle` (write, fdatasync) carry a `code`
 * but no `path`. An error that already names its path is returned as it is.
 */
export function naming(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (!(e instanceof Error) || e.path !== undefined) return err;
  return Object.assign(new Error(`${e.message} '${path}'`, { cause: e }), { code: e.code, errno: e.errno, syscall: e.syscall, path });
}

/**
 * Causes followed at most: a store failure is two or three deep (the store's coded error, the error naming
 * the file, Node's own); the bound only guards against a cause that refers back to itself.
 */
const MAX_CAUSE_DEPTH = 8;

/** The errno code and the file of a store failure (`MUSTER_ERR_STORE_FAILED`), from the first error of its cause chain that has them. */
export function failureCause(err: unknown): { readonly errno: string | undefined; readonly file: string | undefined } {
  let errno: string | undefined;
  let file: string | undefined;
  for (let e = err as NodeJS.ErrnoException | undefined, depth = 0; e instanceof Error && depth < MAX_CAUSE_DEPTH; e = e.cause as NodeJS.ErrnoException | undefined, depth++) {
    if (errno === undefined && typeof e.code === 'string' && !e.code.startsWith('MUSTER_ERR_')) errno = e.code;
    file ??= typeof e.path === 'string' ? e.path : undefined;
  }
  return { errno, file };
}
