/**
 * The fault runs' checks (findings.ts) on made-up runs, so that a fault test passing means the property
 * held, not that the check could not see it: each case is a run with one thing wrong (or none) and the
 * findings it must give.
 */
import t from 'tap';
import type { JobEvent, JobView } from '../../src/client/index.js';
import type { Findings } from './findings.js';
import { findings } from './findings.js';
import type { AttemptRecord } from './marker-task.js';

const MS = 1_000_000n;

interface AttemptOptions {
  /** The shim's status line (default `exit 0`) when the attempt has an end. */
  readonly status?: string;
  readonly fenced?: boolean;
  readonly overlapAtStart?: boolean;
  readonly end?: AttemptRecord['end'];
}

/** Attempt `n` of task j-1#0, from `startMs` to `endMs` (its shim's status time; undefined: none). */
function attempt(n: number, startMs: number, endMs: number | undefined, options: AttemptOptions = {}): AttemptRecord {
  return {
    job: 'j-1',
    task: 0,
    attempt: n,
    pid: 100 + n,
    node: 'n1',
    startNs: BigInt(startMs) * MS,
    overlapAtStart: options.overlapAtStart ?? false,
    ...(options.end ? { end: options.end } : {}),
    ...(endMs !== undefined ? { shim: { status: options.status ?? 'exit 0', fenced: options.fenced ?? false, atNs: BigInt(endMs) * MS } } : {}),
  };
}

function event(type: JobEvent['type'], fields: Partial<JobEvent> = {}): JobEvent {
  return { seq: 1, at: 0, type, job: 'j-1', tenant: 'default', queue: 'default', ...fields };
}

const placed = (n: number): JobEvent => event('placed', { task: 0, attempt: n, node: 'n1' });
const ended = (n: number, outcome: string, more: Partial<JobEvent> = {}): JobEvent => event('task-ended', { task: 0, attempt: n, node: 'n1', outcome, ...more });
const jobEnded = (outcome: string): JobEvent => event('ended', { outcome });
const views = (status: string): Map<string, JobView> =>
  new Map([['j-1', { id: 'j-1', tenant: 'default', queue: 'default', name: 'x', status, submittedAt: 0, tasks: { total: 1, pending: 0, placed: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } }]]);

interface Case {
  readonly name: string;
  readonly attempts: AttemptRecord[];
  readonly events: JobEvent[];
  readonly status?: string;
  /** The findings that must be non-empty (all others empty). */
  readonly expect: readonly (keyof Omit<Findings, 'tasksRunTwice' | 'realEndsRecordedFenced'>)[];
}

const CASES: Case[] = [
  {
    name: 'a lost attempt, then a retry that succeeds after it: all is well',
    attempts: [attempt(1, 0, 100, { status: 'signal 9', fenced: true }), attempt(2, 200, 300)],
    events: [placed(1), ended(1, 'lost', { reason: 'node n1 lost' }), placed(2), ended(2, 'succeeded'), jobEnded('succeeded')],
    expect: [],
  },
  {
    name: 'a retry that started before the first attempt was gone: a double run by the intervals',
    attempts: [attempt(1, 0, 250, { status: 'signal 9' }), attempt(2, 200, 300)],
    events: [placed(1), ended(1, 'lost', { reason: 'node n1 lost' }), placed(2), ended(2, 'succeeded'), jobEnded('succeeded')],
    expect: ['doubleRuns'],
  },
  {
    name: 'a retry that found its task lock held: a double run by the lock',
    attempts: [attempt(1, 0, 100, { status: 'signal 9' }), attempt(2, 200, 300, { overlapAtStart: true })],
    events: [placed(1), ended(1, 'lost', { reason: 'node n1 lost' }), placed(2), ended(2, 'succeeded'), jobEnded('succeeded')],
    expect: ['doubleRuns'],
  },
  {
    name: 'an attempt with no end marker and no status',
    attempts: [attempt(1, 0, undefined)],
    events: [placed(1), ended(1, 'lost', { reason: 'node n1 lost' }), jobEnded('failed')],
    status: 'failed',
    expect: ['unended'],
  },
  {
    name: 'an attempt that never ended on the server, and one that ended twice',
    attempts: [attempt(1, 0, 100, { status: 'exit 3' }), attempt(2, 200, 300)],
    events: [placed(1), ended(1, 'failed', { exitCode: 3 }), ended(1, 'lost', { reason: 'node n1 lost' }), placed(2), jobEnded('succeeded')],
    expect: ['endsPerAttempt'],
  },
  {
    name: 'succeeded recorded for a task that exited 3',
    attempts: [attempt(1, 0, 100, { status: 'exit 3' })],
    events: [placed(1), ended(1, 'succeeded'), jobEnded('succeeded')],
    expect: ['wrongOutcomes'],
  },
  {
    name: 'failed with another exit code than the real one',
    attempts: [attempt(1, 0, 100, { status: 'exit 3' })],
    events: [placed(1), ended(1, 'failed', { exitCode: 4 }), jobEnded('failed')],
    status: 'failed',
    expect: ['wrongOutcomes'],
  },
  {
    name: 'a real end thrown away as lost at registration',
    attempts: [attempt(1, 0, 100, { status: 'exit 3' })],
    events: [placed(1), ended(1, 'lost', { reason: 'the agent of n1 neither runs it nor reported its end (reconciled at registration)' }), jobEnded('failed')],
    status: 'failed',
    expect: ['wrongOutcomes'],
  },
  {
    name: 'lost at registration for an attempt that was killed: it did not end on its own',
    attempts: [attempt(1, 0, 100, { status: 'signal 9' })],
    events: [placed(1), ended(1, 'lost', { reason: 'the agent of n1 neither runs it nor reported its end (reconciled at registration)' }), jobEnded('failed')],
    status: 'failed',
    expect: [],
  },
  {
    name: 'without a shim status, the end marker is the real end: succeeded recorded for a task that exited 3',
    attempts: [attempt(1, 0, undefined, { end: { atNs: 50n * MS, code: 3 } })],
    events: [placed(1), ended(1, 'succeeded'), jobEnded('succeeded')],
    expect: ['wrongOutcomes'],
  },
  {
    name: 'killed, though nothing was cancelled',
    attempts: [attempt(1, 0, 100, { status: 'signal 15' })],
    events: [placed(1), ended(1, 'killed', { reason: 'cancel' }), jobEnded('failed')],
    status: 'failed',
    expect: ['wrongOutcomes'],
  },
  {
    name: 'a job that ended twice, and one whose view disagrees',
    attempts: [attempt(1, 0, 100)],
    events: [placed(1), ended(1, 'succeeded'), jobEnded('succeeded'), jobEnded('failed')],
    expect: ['notTerminal'],
  },
  {
    name: 'a job whose view is not terminal',
    attempts: [attempt(1, 0, 100)],
    events: [placed(1), ended(1, 'succeeded'), jobEnded('succeeded')],
    status: 'running',
    expect: ['notTerminal'],
  },
];

const KINDS = ['doubleRuns', 'unended', 'endsPerAttempt', 'wrongOutcomes', 'notTerminal'] as const;

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const found = findings(c.attempts, c.events, views(c.status ?? 'succeeded'));
    for (const kind of KINDS) {
      if (c.expect.includes(kind)) t.not(found[kind].length, 0, `${kind} found`);
      else t.same(found[kind], [], `no ${kind}`);
    }
    t.equal(found.tasksRunTwice, c.expect.includes('doubleRuns') ? 1 : 0, 'tasks run twice');
  });
}
