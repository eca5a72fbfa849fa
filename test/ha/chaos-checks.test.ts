/**
 * The chaos run's checks (chaos-checks.ts) on fake records: a clean run of three jobs (one that succeeds at
 * once, one whose designed failure is retried under a newer leader, one that fails for good) yields no
 * finding; each way a failover could break a promise, written into those records, yields the finding that
 * names it, and only the lists it belongs to.
 */
import t from 'tap';
import type { AttemptRecord, MarkerJob } from '../faults/marker-task.js';
import type { ChaosFindings, ChaosRecords, FinalJob, Registration, Resubmitted } from './chaos-checks.js';
import { chaosFindings, expectedTask, findingLines } from './chaos-checks.js';
import type { EndedAttempt, LogFacts, PlacedAttempt } from './chaos-log.js';

const S = 1_000_000_000n;

/** An attempt that ran from `startS` to `endS` (seconds) and exited `code` (undefined: killed, no end). */
function ran(job: string, attempt: number, node: string, epoch: number | undefined, startS: number, endS: number, code: number | undefined): AttemptRecord {
  const endNs = BigInt(endS) * S;
  return {
    job,
    task: 0,
    attempt,
    pid: 1000 + startS,
    node,
    startNs: BigInt(startS) * S,
    overlapAtStart: false,
    ...(epoch !== undefined ? { epoch } : {}),
    ...(code !== undefined ? { end: { atNs: endNs, code } } : {}),
    shim: { status: code !== undefined ? `exit ${code}` : 'signal 9', fenced: false, atNs: endNs },
  };
}

interface Mutable {
  acked: Map<string, string>;
  ackConflicts: string[];
  designs: Map<string, MarkerJob>;
  jobs: FinalJob[];
  resubmitted: Map<string, Resubmitted>;
  attempts: AttemptRecord[];
  registrations: Registration[];
  submitted: Map<string, string | undefined>;
  placed: PlacedAttempt[];
  ended: EndedAttempt[];
  jobEnded: { job: string; outcome: string }[];
  epochDescents: string[];
  gaps: string[];
}

/** k1 succeeds at once on a1; k2 fails (3) on a1 under epoch 5, its retry succeeds on a2 under epoch 7; k3 fails (5) for good. */
function clean(): Mutable {
  const designs = new Map<string, MarkerJob>([
    ['k1', { name: 'k1', sleepSeconds: 1, exitCode: 0, retries: 2 }],
    ['k2', { name: 'k2', sleepSeconds: 1, exitCode: 3, retries: 1 }],
    ['k3', { name: 'k3', sleepSeconds: 1, exitCode: 5, retries: 0 }],
  ]);
  return {
    acked: new Map([
      ['k1', 'j-1'],
      ['k2', 'j-2'],
      ['k3', 'j-3'],
    ]),
    ackConflicts: [],
    designs,
    jobs: [
      { id: 'j-1', name: 'k1', status: 'succeeded', tasks: [{ index: 0, attempt: 1, failures: 0 }] },
      { id: 'j-2', name: 'k2', status: 'succeeded', tasks: [{ index: 0, attempt: 2, failures: 1 }] },
      { id: 'j-3', name: 'k3', status: 'failed', tasks: [{ index: 0, attempt: 1, failures: 1 }] },
    ],
    resubmitted: new Map([
      ['k1', { ok: true, job: 'j-1', existing: true }],
      ['k2', { ok: true, job: 'j-2', existing: true }],
      ['k3', { ok: true, job: 'j-3', existing: true }],
    ]),
    attempts: [ran('j-1', 1, 'a1', 5, 1, 2, 0), ran('j-2', 1, 'a1', 5, 1, 3, 3), ran('j-3', 1, 'a2', 5, 2, 4, 5), ran('j-2', 2, 'a2', 7, 12, 13, 0)],
    registrations: [
      { node: 'a1', epoch: 5, atMs: 0 },
      { node: 'a2', epoch: 5, atMs: 0 },
      { node: 'a2', epoch: 7, atMs: 10_000 },
    ],
    submitted: new Map([
      ['j-1', 'k1'],
      ['j-2', 'k2'],
      ['j-3', 'k3'],
    ]),
    placed: [
      { job: 'j-1', task: 0, attempt: 1, node: 'a1', epoch: 5 },
      { job: 'j-2', task: 0, attempt: 1, node: 'a1', epoch: 5 },
      { job: 'j-3', task: 0, attempt: 1, node: 'a2', epoch: 5 },
      { job: 'j-2', task: 0, attempt: 2, node: 'a2', epoch: 7 },
    ],
    ended: [
      { job: 'j-1', task: 0, attempt: 1, node: 'a1', outcome: 'succeeded', exitCode: 0 },
      { job: 'j-2', task: 0, attempt: 1, node: 'a1', outcome: 'failed', exitCode: 3 },
      { job: 'j-3', task: 0, attempt: 1, node: 'a2', outcome: 'failed', exitCode: 5 },
      { job: 'j-2', task: 0, attempt: 2, node: 'a2', outcome: 'succeeded', exitCode: 0 },
    ],
    jobEnded: [
      { job: 'j-1', outcome: 'succeeded' },
      { job: 'j-3', outcome: 'failed' },
      { job: 'j-2', outcome: 'succeeded' },
    ],
    epochDescents: [],
    gaps: [],
  };
}

function check(m: Mutable): ChaosFindings {
  const log: LogFacts = { submitted: m.submitted, placed: m.placed, ended: m.ended, jobEnded: m.jobEnded, epochDescents: m.epochDescents, gaps: m.gaps, events: 0, lastSeq: 0, epochs: [5, 7] };
  const records: ChaosRecords = {
    acked: m.acked,
    ackConflicts: m.ackConflicts,
    designs: m.designs,
    jobs: m.jobs,
    resubmitted: m.resubmitted,
    starts: m.attempts.map((attempt) => ({ attempt, acceptedNs: attempt.startNs })),
    registrations: m.registrations,
    log,
  };
  return chaosFindings(records);
}

/** The lists of `f` that are not empty. */
const nonEmpty = (f: ChaosFindings): string[] => Object.entries(f).filter(([, list]) => (list as unknown[]).length > 0).map(([name]) => name).sort();

t.test('the design says what each task ends as', async (t) => {
  t.same(expectedTask({ name: 'a', sleepSeconds: 1, exitCode: 0, retries: 2 }), { attempt: 1, failures: 0, status: 'succeeded' });
  t.same(expectedTask({ name: 'b', sleepSeconds: 1, exitCode: 3, retries: 1 }), { attempt: 2, failures: 1, status: 'succeeded' });
  t.same(expectedTask({ name: 'c', sleepSeconds: 1, exitCode: 5, retries: 0 }), { attempt: 1, failures: 1, status: 'failed' });
});

t.test('a clean run: no finding', async (t) => {
  const f = check(clean());
  t.same(nonEmpty(f), []);
  t.same(findingLines(f), []);
});

/** Each case: what it breaks, the lists that must then hold a finding, and a line one of them must match. */
const CASES: { name: string; breaks: (m: Mutable) => void; lists: string[]; line: RegExp }[] = [
  {
    name: 'an acknowledged job missing on the final leader',
    breaks: (m) => void (m.jobs = m.jobs.filter((j) => j.id !== 'j-1')),
    lists: ['ackedLost', 'endedNotOnce'],
    line: /acked-lost: k1 acknowledged as j-1: the final leader lists \[\]/,
  },
  {
    name: 'a key naming two jobs',
    breaks: (m) => {
      m.jobs.push({ id: 'j-4', name: 'k1', status: 'succeeded', tasks: [{ index: 0, attempt: 1, failures: 0 }] });
      m.jobEnded.push({ job: 'j-4', outcome: 'succeeded' });
    },
    lists: ['ackedLost', 'duplicateKeys'],
    line: /duplicate-key: k1 names j-1, j-4/,
  },
  {
    name: 'a resubmission that made a new job',
    breaks: (m) => void m.resubmitted.set('k3', { ok: true, job: 'j-9', existing: false }),
    lists: ['resubmitChanged'],
    line: /resubmit-changed: k3 → j-3/,
  },
  {
    name: 'a start under an epoch older than the agent was told at registration',
    breaks: (m) => {
      m.attempts[3] = ran('j-2', 2, 'a2', 6, 12, 13, 0);
    },
    lists: ['staleStarts'],
    line: /stale-start: a2: start of j-2#0#2 under epoch 6, after it had seen epoch 7 \(registered under epoch 7/,
  },
  {
    name: "a start under an epoch older than the node's previous start",
    breaks: (m) => {
      m.attempts.push(ran('j-9', 1, 'a1', 7, 5, 6, 0), ran('j-8', 1, 'a1', 5, 7, 8, 0));
      m.registrations.push({ node: 'a1', epoch: 7, atMs: 4_000 });
      m.registrations.splice(0, 1);
    },
    lists: ['staleStarts'],
    line: /stale-start: a1: start of j-8#0#1 under epoch 5, after it had seen epoch 7/,
  },
  {
    name: 'a start without MUSTER_EPOCH',
    breaks: (m) => void (m.attempts[0] = ran('j-1', 1, 'a1', undefined, 1, 2, 0)),
    lists: ['staleStarts'],
    line: /stale-start: a1: start of j-1#0#1 carries no epoch/,
  },
  {
    name: 'two attempts of a task alive at once',
    breaks: (m) => {
      m.attempts[3] = { ...ran('j-2', 2, 'a2', 7, 2, 13, 0), overlapAtStart: true };
    },
    lists: ['doubleRuns'],
    line: /double-run: \{"job":"j-2","task":0,"earlier":1,"later":2,"by":"lock"\}/,
  },
  {
    name: 'a job not terminal on the final leader',
    breaks: (m) => void (m.jobs[0] = { ...m.jobs[0]!, status: 'running' }),
    lists: ['endedNotOnce', 'notTerminal'],
    line: /not-terminal: j-1 \(k1\): running/,
  },
  {
    name: 'a job ended twice in the log',
    breaks: (m) => void m.jobEnded.push({ job: 'j-3', outcome: 'failed' }),
    lists: ['endedNotOnce'],
    line: /ended-not-once: j-3 \(k3\): 2 JobEnded in the log \(failed, failed\)/,
  },
  {
    name: 'an attempt placed and never ended in the log',
    breaks: (m) => void m.placed.push({ job: 'j-1', task: 0, attempt: 2, node: 'a2', epoch: 7 }),
    lists: ['attemptEnds', 'unexplainedRetries'],
    line: /attempt-ends: j-1#0#2 on a2 \(placed under epoch 7\): 0 TaskEnded in the log/,
  },
  {
    name: 'a task rescheduled by a failover: its attempt ended lost at registration, retried',
    breaks: (m) => {
      const reason = 'the agent of a1 neither runs it nor reported its end (reconciled at registration)';
      m.attempts = m.attempts.filter((a) => !(a.job === 'j-1'));
      m.attempts.push(ran('j-1', 2, 'a2', 7, 12, 13, 0));
      m.placed.push({ job: 'j-1', task: 0, attempt: 2, node: 'a2', epoch: 7 });
      m.ended[0] = { job: 'j-1', task: 0, attempt: 1, node: 'a1', outcome: 'lost', reason };
      m.ended.push({ job: 'j-1', task: 0, attempt: 2, node: 'a2', outcome: 'succeeded', exitCode: 0 });
      m.jobs[0] = { id: 'j-1', name: 'k1', status: 'succeeded', tasks: [{ index: 0, attempt: 2, failures: 1 }] };
    },
    lists: ['unexplainedRetries', 'unrealEnds'],
    line: /unexplained-retry: j-1#0#2 placed on a2 under epoch 7 after attempt 1 \(placed on a1 under epoch 5\) ended lost \(the agent of a1 neither runs it/,
  },
  {
    name: "a designed failure's retry recorded lost: the job fails, its retries spent",
    breaks: (m) => {
      m.ended[3] = { job: 'j-2', task: 0, attempt: 2, node: 'a2', outcome: 'lost', reason: 'node a2 lost' };
      m.jobs[1] = { id: 'j-2', name: 'k2', status: 'failed', tasks: [{ index: 0, attempt: 2, failures: 2 }] };
      m.jobEnded[2] = { job: 'j-2', outcome: 'failed' };
    },
    lists: ['notTerminal', 'unexplainedRetries', 'unrealEnds'],
    line: /unreal-end: j-2#0#2 on a2: recorded lost \(node a2 lost\), really exit 0/,
  },
  {
    name: 'the log written under a lower epoch after a higher one, and a gap',
    breaks: (m) => {
      m.epochDescents.push('seq 9 written under epoch 5, after epoch 7');
      m.gaps.push('seq 12 after 10');
    },
    lists: ['logProblems'],
    line: /log: the log's epoch went down: seq 9 written under epoch 5, after epoch 7/,
  },
  {
    name: 'a key acknowledged with two ids',
    breaks: (m) => void m.ackConflicts.push('k2: acknowledged as j-2, then as j-5'),
    lists: ['ackConflicts'],
    line: /ack-conflict: k2: acknowledged as j-2, then as j-5/,
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const m = clean();
    c.breaks(m);
    const f = check(m);
    t.same(nonEmpty(f), [...c.lists].sort(), 'the findings land in the lists that name the breach');
    t.ok(findingLines(f).some((l) => c.line.test(l)), `a finding says so: ${c.line}`, { lines: findingLines(f) });
  });
}
