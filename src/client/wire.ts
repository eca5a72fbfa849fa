/**
 * The `/v1/submit` frames and the HTTP views of PROTOCOL.md, as the client sends and reads them. These types
 * are written from the document, not imported from the server: the client is what another language's
 * client would be, and the document is the contract between them.
 *
 * Frames are msgpack maps: plain maps, no records, no extensions (PROTOCOL.md refuses any extension type).
 * Fields whose value is `undefined` are left out, as `JSON.stringify` does: msgpackr would otherwise
 * write `undefined` as an extension, and the server would refuse the whole frame (and with it every
 * other caller's jobs batched into it) for one caller's `{ name: undefined }`.
 */
import { createRequire } from 'node:module';
import type { Options, Packr } from 'msgpackr';

/** A job spec in its written form (what `muster validate` checks): units as strings or numbers. */
export type JobSpecInput = Readonly<Record<string, unknown>>;

export type RequestId = number;

export interface WatchFilter {
  readonly jobs?: readonly string[];
  readonly queue?: string;
  readonly tenant?: string;
}

export type ClientFrame =
  | { readonly kind: 'submit'; readonly id: RequestId; readonly jobs: readonly JobSpecInput[]; readonly tenant?: string; readonly holdUnsatisfiable?: boolean }
  | { readonly kind: 'cancel'; readonly id: RequestId; readonly jobs: readonly string[] }
  | { readonly kind: 'watch'; readonly id: RequestId; readonly filter?: WatchFilter; readonly from?: number }
  | { readonly kind: 'unwatch'; readonly id: RequestId; readonly watch: RequestId };

/** One problem of an invalid spec (the same shape `muster validate` prints). */
export interface WireProblem {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

export type SubmitResult =
  | { readonly ok: true; readonly job: string; readonly existing?: true }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly problems?: readonly WireProblem[] };

export type CancelResult = { readonly job: string; readonly ok: true } | { readonly job: string; readonly ok: false; readonly code: string; readonly message: string };

/** `{ code, message }` plus what applies: the body of an HTTP error and the fields of an `error` frame. */
export interface WireErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly problems?: readonly WireProblem[];
  readonly retryAfterMs?: number;
  readonly oldest?: number;
  /** With MUSTER_ERR_NOT_LEADER: the leader the refusing replica knows of (absent while it knows none). */
  readonly leader?: { readonly url: string; readonly epoch: number };
}

export type EventType = 'submitted' | 'placed' | 'started' | 'preempted' | 'task-ended' | 'cancel-requested' | 'held' | 'released' | 'ended';

/** A job event as `watch` streams it; the fields besides the common ones depend on `type`. */
export interface JobEvent {
  readonly seq: number;
  readonly at: number;
  readonly type: EventType;
  readonly job: string;
  readonly tenant: string;
  readonly queue: string;
  readonly name?: string;
  readonly task?: number;
  readonly attempt?: number;
  readonly node?: string;
  readonly outcome?: string;
  readonly exitCode?: number;
  readonly reason?: string;
  /** `cancel-requested` of one array element. */
  readonly element?: number;
  /** `preempted`: the job (and its queue) the attempt was preempted for. */
  readonly by?: { readonly job: string; readonly queue: string };
}

export type ServerFrame =
  | { readonly kind: 'submitted'; readonly id: RequestId; readonly results: readonly SubmitResult[] }
  | { readonly kind: 'cancelled'; readonly id: RequestId; readonly results: readonly CancelResult[] }
  | { readonly kind: 'watching'; readonly id: RequestId; readonly seq: number }
  | { readonly kind: 'unwatched'; readonly id: RequestId }
  | { readonly kind: 'events'; readonly watch: RequestId; readonly events: readonly JobEvent[] }
  | ({ readonly kind: 'error'; readonly id?: RequestId } & WireErrorBody);

/**
 * msgpackr, loaded on the first frame rather than with this module: a command that only reads over HTTP
 * (`muster jobs`) never pays for it (the CLI's 300 ms budget, bench/cli.bench.ts). Loaded with `require`
 * (its CommonJS build) because encoding is synchronous.
 */
let packr: Packr | undefined;

function codec(): Packr {
  if (packr === undefined) {
    const msgpackr = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
    // `skipValues` is a msgpackr option its type declarations do not list (yet).
    // The server writes times and large ids as 64-bit integers: read them as numbers (msgpackr's default
    // is BigInt).
    packr = new msgpackr.Packr({ useRecords: false, skipValues: [undefined], int64AsType: 'number' } as Options);
  }
  return packr;
}

export function encodeFrame(frame: ClientFrame): Buffer {
  return codec().pack(frame);
}

/**
 * Decodes one frame from the server. Returns undefined for anything that is not a map with a string `kind`
 * (the client ignores what it cannot read rather than failing every request on the connection).
 */
export function decodeFrame(data: Uint8Array): ServerFrame | undefined {
  let value: unknown;
  try {
    value = codec().unpack(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { kind?: unknown }).kind !== 'string') return undefined;
  return value as ServerFrame;
}

// The HTTP views (PROTOCOL.md, Views).

export interface TaskCounts {
  readonly total: number;
  readonly pending: number;
  readonly placed: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
}

export interface JobView {
  readonly id: string;
  readonly tenant: string;
  readonly queue: string;
  readonly name?: string;
  readonly status: string;
  readonly submittedAt: number;
  readonly endedAt?: number;
  readonly reason?: string;
  /** When its first attempt started. */
  readonly startedAt?: number;
  /** The exit code that decided how it ended (PROTOCOL.md, views). */
  readonly exitCode?: number;
  /** Its first task group's command, as one line (absent from servers older than this field). */
  readonly command?: string;
  readonly tasks: TaskCounts;
  /** The job has left the server's live state (retention) and was read from its history. */
  readonly retired?: true;
}

export interface TaskView {
  readonly index: number;
  readonly state: string;
  readonly attempt: number;
  readonly failures: number;
  readonly node?: string;
  readonly nodes?: readonly string[];
  /** Every attempt, attempt 1 first (absent before the first placement). */
  readonly attempts?: readonly AttemptView[];
}

/** One attempt of a task (times in ms since the epoch; absent fields have not happened). */
export interface AttemptView {
  readonly attempt: number;
  readonly node: string;
  readonly placedAt: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** `succeeded`, `failed`, `timeout`, `lost` or `killed`. */
  readonly outcome?: string;
  readonly exitCode?: number;
  readonly reason?: string;
  /** When it was preempted, and for which job of which queue (it then ends `killed`). */
  readonly preemptedAt?: number;
  readonly preemptedBy?: { readonly job: string; readonly queue: string };
}

export interface JobDetailView extends JobView {
  readonly spec: Readonly<Record<string, unknown>>;
  readonly taskList: readonly TaskView[];
}

export interface JobPage {
  readonly jobs: readonly JobView[];
  readonly next?: string;
}

/**
 * One reason a job waits. The server names it by `kind` (dependency, backoff, queue-limit, cluster-busy,
 * site, nodes, not-tried, held, preempted, unsatisfiable, no-nodes, nodes-unavailable); the first draft of PROTOCOL.md called that field `reason`, so both are read.
 */
export interface WhyReason {
  readonly kind?: string;
  readonly reason?: string;
  readonly site?: string;
  readonly nodes?: number;
  readonly message: string;
  readonly [more: string]: unknown;
}

export type WhyView =
  | {
      readonly job: string;
      readonly status: 'pending';
      /** 1-based place in its queue's order; null when it is not in the order. */
      readonly position: number | null;
      readonly reasons: readonly WhyReason[];
      /** The smallest change that would let it run (`needs` in the first draft of PROTOCOL.md). */
      readonly suggestion?: string;
      readonly needs?: string;
    }
  | { readonly job: string; readonly status: string; readonly message: string };

export interface ResourceAmounts {
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
  readonly extended?: Readonly<Record<string, number>>;
}

export interface QueueView {
  readonly name: string;
  readonly tenant: string;
  readonly weight: number;
  readonly priority: number;
  readonly guaranteedShare: number;
  readonly guarantee?: Readonly<Record<string, unknown>>;
  readonly borrow: boolean;
  readonly borrowLimit?: Readonly<Record<string, unknown>>;
  readonly limit?: Readonly<Record<string, unknown>>;
  /** The guarantee in absolute amounts on the cluster as it is now. */
  readonly guaranteed: ResourceAmounts;
  readonly active: number;
  readonly pending: number;
  readonly usage: ResourceAmounts;
}

export interface NodeView {
  readonly name: string;
  readonly site: string;
  readonly state: string;
  readonly capacity: ResourceAmounts;
  readonly allocated: ResourceAmounts;
  readonly labels: Readonly<Record<string, string>>;
  /** The allocations on the node (a count or the list, as the server gives it). */
  readonly allocations: number | readonly unknown[];
  /** Present while an operator drains it: until when its work may run (ms), null when unbounded. */
  readonly drain?: { readonly deadline: number | null };
}

/** `GET /v1/leader`, as every replica answers it; a server from before replication sends the first three fields. */
export interface LeaderView {
  readonly leader: string | null;
  readonly epoch: number | null;
  /** Whether the replica that answered is the leader. */
  readonly self: boolean;
  readonly role?: 'leader' | 'standby';
  /** The answering replica's own URL. */
  readonly replica?: string;
}

export interface SiteView {
  readonly name: string;
  readonly nodes: number;
  readonly ready: number;
  readonly capacity: ResourceAmounts;
  readonly allocated: ResourceAmounts;
}
