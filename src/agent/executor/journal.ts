/**
 * The attempt journal: what the agent must remember about its attempts across its own restarts. One small
 * JSON file per attempt in WORK/journal/, written before its shim is spawned and kept until the server has
 * acknowledged the attempt's end:
 *
 *   launch ──▶ { job, task, attempt, epoch, node, command, timeLimitMs? }     written before the spawn
 *   spawned ─▶ + shim { pid, startTime }                                     the supervisor, and its start time
 *   started ─▶ + pgid, startedAtMs                                           the task's group; when (monotonic)
 *   stopping ▶ + stop { outcome, reason, silent? }                           before the first signal is sent
 *   ended ───▶ + end { outcome, exitCode?, signal?, reason? }
 *   acked ───▶ (file removed)
 *
 * A restarted agent reads it (`load`) to find its attempts again: see the executor's recovery. Each write
 * goes to `NAME.tmp` and is renamed over `NAME`, so a crash at any point leaves either version whole. No
 * fsync: the journal guards against the agent process dying; a crash of the machine kills the tasks too,
 * and the server then reconciles them as lost.
 *
 * Writes to one attempt's file are serialised and coalesced (the newest version wins), so a removal can
 * never be overtaken by an older write.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/index.js';
import type { AttemptRef } from '../../scheduler/index.js';
import type { ProcessIdentity } from '../shim/index.js';
import type { ProcessEnd, StopRequest } from './outcome.js';

export const JOURNAL_FOLDER = 'journal';

/** A stop the agent asked for; `silent`: its end is reported to nobody (a reconciliation kill). */
export interface JournalStop extends StopRequest {
  readonly silent?: boolean;
}

export interface JournalEntry extends AttemptRef {
  readonly epoch: number;
  readonly node: string;
  /** The task's command, for messages about how it failed to start. */
  readonly command: string;
  readonly timeLimitMs?: number;
  readonly shim?: ProcessIdentity;
  /** The task's process group (its leader's pid), once it runs. */
  readonly pgid?: number;
  /** When the task started, in ms of CLOCK_MONOTONIC (its time limit counts from there across restarts). */
  readonly startedAtMs?: number;
  readonly stop?: JournalStop;
  readonly end?: ProcessEnd;
}

interface Slot {
  /** `null`: remove the file. */
  next: JournalEntry | null | undefined;
  running: Promise<void> | undefined;
}

export class AttemptJournal {
  readonly dir: string;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  #made: Promise<unknown> | undefined;

  constructor(workDir: string, log: Logger) {
    this.dir = join(workDir, JOURNAL_FOLDER);
    this.#log = log;
  }

  /** Records this version of an attempt's entry; resolves once it (or a newer one) is written. */
  put(entry: JournalEntry): Promise<void> {
    return this.#write(entry, entry);
  }

  /** Forgets an attempt; resolves once its file is gone. */
  remove(ref: AttemptRef): Promise<void> {
    return this.#write(ref, null);
  }

  /** Resolves once every write asked for so far is done. */
  async settled(): Promise<void> {
    while (this.#slots.size > 0) await Promise.all([...this.#slots.values()].map((slot) => slot.running));
  }

  /** Every entry on disk (a restarted agent's memory of its attempts); unreadable ones are logged and skipped. */
  async load(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: JournalEntry[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) await unlink(path).catch(() => undefined); // a write cut short; its previous version stands
        continue;
      }
      try {
        const entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry;
        if (typeof entry.job !== 'string' || !Number.isSafeInteger(entry.task) || !Number.isSafeInteger(entry.attempt)) throw new Error('not an attempt entry');
        entries.push(entry);
      } catch (err) {
        this.#log.error({ err, path }, 'an unreadable journal entry is skipped');
      }
    }
    return entries;
  }

  #write(ref: AttemptRef, value: JournalEntry | null): Promise<void> {
    const name = fileName(ref);
    let slot = this.#slots.get(name);
    if (!slot) {
      slot = { next: undefined, running: undefined };
      this.#slots.set(name, slot);
    }
    slot.next = value;
    slot.running ??= this.#drain(name, slot);
    return slot.running;
  }

  async #drain(name: string, slot: Slot): Promise<void> {
    this.#made ??= mkdir(this.dir, { recursive: true });
    await this.#made.catch(() => undefined);
    const path = join(this.dir, name);
    while (slot.next !== undefined) {
      const value = slot.next;
      slot.next = undefined;
      try {
        if (value === null) await unlink(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
        else {
          await writeFile(`${path}.tmp`, JSON.stringify(value));
          await rename(`${path}.tmp`, path);
        }
      } catch (err) {
        this.#log.error({ err, path }, 'could not write the attempt journal: a restart of the agent may not find this attempt');
      }
    }
    slot.running = undefined;
    this.#slots.delete(name);
  }
}

/** `JOB#TASK#ATTEMPT.json`: `#` is not part of a job id, so the name is unambiguous. */
function fileName(ref: AttemptRef): string {
  return `${ref.job}#${ref.task}#${ref.attempt}.json`;
}
