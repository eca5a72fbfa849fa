/**
 * Reading an attempt's log file as chunks, for `muster logs` (the wire's `logs` request, answered with `log`
 * frames). With `follow`, the reader keeps polling the file while the attempt lives and finishes once the
 * attempt has ended and everything it wrote has been read.
 *
 * The process writes its log files itself (they are its stdout and stderr), so the reader polls the file
 * rather than being told about writes. Polling one file a few times a second per follower costs nothing
 * measurable and behaves the same on every filesystem (inotify does not see writes on network mounts).
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** One chunk per `log` frame: small enough to interleave with other frames, large enough to be cheap. */
export const LOG_CHUNK_BYTES = 64 * 1024;
/** How often a follower looks for new output: a human watching does not notice a quarter second. */
export const FOLLOW_POLL_MS = 250;

/**
 * Yields the bytes of `path` from `offset`. `ended`, when given, is the end of the attempt that writes the
 * file: the reader follows until it settles, then reads to the end and finishes. Without it, it reads to the
 * current end of the file.
 */
export async function* readFileChunks(handle: FileHandle, offset: number, ended: Promise<unknown> | undefined): AsyncGenerator<Buffer> {
  let position = offset;
  let writerDone = ended === undefined;
  let endedNow = false;
  void ended?.then(() => {
    endedNow = true;
  });
  let buffer = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, LOG_CHUNK_BYTES, position);
    if (bytesRead > 0) {
      position += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      buffer = Buffer.allocUnsafe(LOG_CHUNK_BYTES); // the consumer owns the chunk it was given
      yield chunk;
      continue;
    }
    if (writerDone) return;
    // Wait for more output or for the end; after the end, one more pass reads what was written last.
    await Promise.race([sleep(FOLLOW_POLL_MS), ended]);
    if (endedNow) writerDone = true;
  }
}

export async function openLog(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
}
