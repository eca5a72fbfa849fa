/**
 * The segment writer: the group committer's sink. It appends each group to the current segment with one
 * write and one fdatasync, and rolls to a new segment (named after the group's first seq) before a group
 * when the current one has reached the size limit. A new segment's name is made durable (folder fsync)
 * before anything is written into it; a group never spans two segments.
 */
import { join } from 'node:path';
import { segmentName, syncFolder } from './data-folder.js';
import { naming, writeAll, type OpenFile, type StoreFile } from './file-system.js';
import type { GroupSink } from './group-commit.js';

export class SegmentWriter implements GroupSink {
  readonly #openFile: OpenFile;
  readonly #dir: string;
  readonly #limit: number;
  /** The segment appends go to, opened at the first write. */
  #path: string | undefined;
  #file: StoreFile | undefined;
  #size: number;

  /** `tail`: the last segment as recovery left it (appends continue there), or none. */
  constructor(openFile: OpenFile, dir: string, tail: { readonly path: string; readonly size: number } | undefined, segmentBytesLimit: number) {
    this.#openFile = openFile;
    this.#dir = dir;
    this.#limit = segmentBytesLimit;
    this.#path = tail?.path;
    this.#size = tail?.size ?? 0;
  }

  /** The segment appends go to (compaction never removes it). */
  get currentPath(): string | undefined {
    return this.#path;
  }

  /** A failure names the segment (or, when the folder's fsync failed, the folder) it happened on. */
  async writeGroup(bytes: Buffer, firstSeq: number): Promise<void> {
    try {
      if (this.#path === undefined || (this.#size > 0 && this.#size >= this.#limit)) await this.#roll(firstSeq);
      else if (this.#file === undefined) this.#file = await this.#openFile(this.#path, 'r+');
      const file = this.#file as StoreFile;
      await writeAll(file, bytes, this.#size);
      await file.datasync();
      this.#size += bytes.length;
    } catch (err) {
      throw naming(err, this.#path ?? this.#dir);
    }
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }

  async #roll(firstSeq: number): Promise<void> {
    await this.close(); // its last group was fsynced before its write resolved
    const path = join(this.#dir, segmentName(firstSeq));
    this.#file = await this.#openFile(path, 'wx');
    this.#path = path;
    this.#size = 0;
    await syncFolder(this.#openFile, this.#dir);
  }
}
