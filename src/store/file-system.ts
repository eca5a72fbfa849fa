/**
 * The file-system seam: every file the store writes (segments, snapshots, the meta file) is opened through
 * an `OpenFile`, so a test can count or fail writes and fsyncs while the bytes still reach real files.
 * The default is `node:fs/promises` `open`. Reads, listings, renames and unlinks use `node:fs` directly.
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
