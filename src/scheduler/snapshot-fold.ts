/**
 * The snapshot at seq S, folded from the store: the newest snapshot at or before S decoded, the durable log
 * after it up to S applied with the reducer recovery uses (`applyEvent`), and the result encoded. It reads
 * the data folder itself (read-only, src/store/point-reader.ts) and is a pure function of the folder's
 * durable content up to S, so it runs on a CPU-pool thread (`snapshotAt`) and the main thread's only part
 * is to name S. Everything in the snapshot — jobs, queues, nodes, the submission counter, the epoch, the
 * clock — is the state after event S by construction: it is what recovery would rebuild from the log at S.
 */
import { runExport, siblingModule } from '../actors/index.js';
import { createLogger } from '../log/index.js';
import type { EtcdPointArgs } from '../store/index.js';
import { readEtcdPoint, readPoint, stageSnapshotFile } from '../store/index.js';
import { applyEvent } from './apply.js';
import type { SchedulerEvent } from './events.js';
import { snapshotBytes, unpackSnapshot } from './snapshot.js';
import { createState } from './state.js';

export interface FoldArgs {
  /** The store's data folder. */
  readonly dir: string;
  /** A durable seq: the snapshot is the state after this event. */
  readonly seq: number;
}

/** The snapshot bytes of the state after event `seq` of the store in `dir` (runs on any thread). */
export async function foldSnapshot(args: FoldArgs): Promise<Uint8Array> {
  const point = await readPoint(args.dir, args.seq, { logger: createLogger({ name: 'snapshot-fold' }) });
  const state = point.snapshot ? unpackSnapshot(point.snapshot.state) : createState(false);
  for await (const stored of point.events()) applyEvent(state, stored.event as SchedulerEvent);
  return snapshotBytes(state);
}

/** A snapshot file a fold wrote in the data folder, for the store to adopt. */
export interface StagedSnapshot {
  readonly seq: number;
  /** The staged file (a temporary name in the data folder); `EmbeddedStore.adoptSnapshot` renames it. */
  readonly path: string;
  /** The state's size. */
  readonly bytes: number;
}

/**
 * `foldSnapshot`, and the thread that folded writes the snapshot file itself (staged, fsynced): the state's
 * bytes never cross to the main thread, whose part is a rename (`adoptSnapshot`).
 */
export async function foldSnapshotToFile(args: FoldArgs): Promise<StagedSnapshot> {
  const state = await foldSnapshot(args);
  return { seq: args.seq, path: await stageSnapshotFile(args.dir, args.seq, state), bytes: state.length };
}

const FOLD_MODULE = siblingModule(import.meta.url, 'snapshot-fold');

/**
 * `foldSnapshot` on the process's CPU pool: the bytes come back transferred, not copied. An abort of `signal`
 * stops the fold (a stopping server does not wait for it: the log holds everything).
 */
export function snapshotAt(args: FoldArgs, signal?: AbortSignal): Promise<Uint8Array> {
  return runExport<typeof foldSnapshot>(FOLD_MODULE, 'foldSnapshot', args, signal ? { signal } : {});
}

/**
 * `foldSnapshotToFile` on the process's CPU pool: what the server's snapshotter runs. An abort of `signal`
 * stops the fold; a file it staged before is a temporary file the store removes when it next opens.
 */
export function stageSnapshotAt(args: FoldArgs, signal?: AbortSignal): Promise<StagedSnapshot> {
  return runExport<typeof foldSnapshotToFile>(FOLD_MODULE, 'foldSnapshotToFile', args, signal ? { signal } : {});
}

/** The snapshot bytes of the state after event `seq` of the etcd store under `prefix` (runs on any thread). */
export async function foldEtcdSnapshot(args: EtcdPointArgs): Promise<Uint8Array> {
  const point = await readEtcdPoint(args);
  const state = point.snapshot ? unpackSnapshot(point.snapshot.state) : createState(false);
  for (const stored of point.events) applyEvent(state, stored.event as SchedulerEvent);
  return snapshotBytes(state);
}

/** `foldEtcdSnapshot` on the process's CPU pool (a client of its own there); the bytes come back transferred. */
export function etcdSnapshotAt(args: EtcdPointArgs, signal?: AbortSignal): Promise<Uint8Array> {
  return runExport<typeof foldEtcdSnapshot>(FOLD_MODULE, 'foldEtcdSnapshot', args, signal ? { signal } : {});
}
