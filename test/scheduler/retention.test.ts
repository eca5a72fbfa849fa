/**
 * Retention (DESIGN.md §7): finished jobs leave the live state by age and by count per tenant, through a
 * durable `JobsRetired` decided by the dispatcher; idempotency keys expire after their window. Each run is a
 * simulation on the virtual clock with the whole state rebuilt from the events beside it (the harness's
 * check: a retirement the reducer finds inconsistent throws).
 */
import t from 'tap';
import type { RetentionPolicy } from '../../src/scheduler/retention.js';
import { RETENTION_SWEEP_MS } from '../../src/scheduler/retention.js';
import type { SchedulerEvent, SchedulerState, SimJob } from '../../src/scheduler/index.js';
import { applyEvent, createState, decodeState, encodeState, SchedulerCore, Simulation, VirtualClock } from '../../src/scheduler/index.js';
import { RecordingAgents, closeSharedSystem, job, liveJobs, node, rebuiltJobs, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const DAY = 86_400_000;

function rebuild(events: readonly SchedulerEvent[], state: SchedulerState = createState(false)): SchedulerState {
  for (const e of events) applyEvent(state, e);
  return state;
}

async function run(jobs: SimJob[], retention: RetentionPolicy, until = Infinity, extra: Partial<Parameters<typeof Simulation.create>[0]['script']> = {}): Promise<Simulation> {
  const sim = await Simulation.create({
    script: { sites: ['a'], nodes: [{ spec: node('n1', 'a', { cpu: '4', memory: '16Gi' }) }], jobs, ...extra },
    system: await sharedSystem(),
    keepEvents: true,
    retention,
  });
  await sim.run(until);
  return sim;
}

function retiredAt(events: readonly SchedulerEvent[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const e of events) if (e.kind === 'JobsRetired') for (const id of e.jobs) at.set(id, e.at);
  return at;
}

function endedAt(events: readonly SchedulerEvent[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const e of events) if (e.kind === 'JobEnded') at.set(e.job, e.at);
  return at;
}

t.test('by age: every job leaves between maxAge and maxAge + the sweep after it ended, the killed ones once their kill has ended', async (t) => {
  // One node of 4 cpu: 40 one-cpu jobs of 1 s arriving every 250 ms; job 5 is cancelled while it runs.
  const jobs = Array.from({ length: 40 }, (_, i): SimJob => ({ at: i * 250, spec: job(), durationMs: 1000 }));
  const policy = { maxAgeMs: 5000, maxEndedPerTenant: 1000, keyWindowMs: DAY };
  const sim = await run(jobs, policy, 60_000, { cancels: [{ at: 1500, job: 5 }] });
  const ended = endedAt(sim.events);
  const retired = retiredAt(sim.events);
  t.equal(ended.size, 40, 'every job ended');
  t.equal(retired.size, 40, 'every job was retired once');
  for (const [id, at] of retired) {
    const age = at - ended.get(id)!;
    if (age < policy.maxAgeMs || age > policy.maxAgeMs + RETENTION_SWEEP_MS) t.fail(`${id} retired ${age} ms after it ended`);
  }
  t.ok(sim.events.filter((e) => e.kind === 'JobsRetired').length < 40, 'retirements are batched');
  const cancelled = sim.jobIds[5]!;
  const killEnd = sim.events.findIndex((e) => e.kind === 'TaskEnded' && e.job === cancelled && e.outcome === 'killed');
  const retiredIndex = sim.events.findIndex((e) => e.kind === 'JobsRetired' && e.jobs.includes(cancelled));
  t.ok(killEnd >= 0 && retiredIndex > killEnd, 'the cancelled job left only after its killed attempt reported its end');
  t.equal((await liveJobs(sim)).size, 0, 'nothing finished is left in the queue actors');
  t.equal(sim.state.jobs.size, 0, 'nor in the state rebuilt from the events');
  await sim.close();
});

t.test('by count per tenant: at most maxEndedPerTenant ended jobs stay, the oldest-ended leave first, live jobs are never touched', async (t) => {
  // Each tenant submits into its own queue (queues belong to tenants).
  const jobs = Array.from({ length: 60 }, (_, i): SimJob => {
    const tenant = i % 2 === 0 ? 'acme' : 'zeta';
    return { at: i * 100, tenant, spec: job({ queue: tenant }), durationMs: 300 + (i % 3) * 100 };
  });
  // A long job of acme's: live for the whole run.
  jobs.push({ at: 0, tenant: 'acme', spec: job({ name: 'long' }), durationMs: 40_000 });
  const policy = { maxAgeMs: DAY, maxEndedPerTenant: 5, keyWindowMs: DAY };
  const sim = await run(jobs, policy, 30_000);
  const slices = await sim.core.queueSlices();
  const live = slices.flatMap((s) => [...s.jobs.values()]);
  for (const tenant of ['acme', 'zeta']) {
    t.equal(live.filter((j) => j.tenant === tenant && ['succeeded', 'failed', 'cancelled'].includes(j.status)).length, 5, `${tenant} keeps exactly 5 ended jobs`);
  }
  t.ok(live.some((j) => j.spec.name === 'long' && j.status === 'running'), 'the running job stays');
  // The ones kept are the last five to end, per tenant.
  const order = [...endedAt(sim.events)].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  for (const tenant of ['acme', 'zeta']) {
    const kept = live.filter((j) => j.tenant === tenant && j.status === 'succeeded').map((j) => j.id);
    const lastEnded = order.filter((id) => sim.state.jobs.get(id)?.tenant === tenant || kept.includes(id)).slice(-5);
    t.same(new Set(kept), new Set(lastEnded), `${tenant}: the five kept are its last five to end`);
  }
  t.same(await liveJobs(sim), rebuiltJobs(sim.state), 'the live state is the state rebuilt from the events');
  await sim.close();
});

t.test('a job another job still waits on is not retired; its dependents are not affected; a later dependency on it fails saying it was retired', async (t) => {
  const policy = { maxAgeMs: 1000, maxEndedPerTenant: 1, keyWindowMs: DAY };
  const jobs: SimJob[] = [
    { at: 0, spec: job({ name: 'first' }), durationMs: 500 },
    // Waits on j-1, then runs 10 s: j-1 must stay until it has ended.
    { at: 0, spec: job({ name: 'second', dependencies: ['afterok:j-1'] }), durationMs: 10_000 },
    { at: 0, spec: job({ name: 'other' }), durationMs: 100 },
    { at: 30_000, spec: job({ name: 'late', dependencies: ['afterany:j-1'] }), durationMs: 100 },
  ];
  const sim = await run(jobs, policy, 20_000);
  const ended = endedAt(sim.events);
  const retired = retiredAt(sim.events);
  const second = sim.events.find((e): e is Extract<SchedulerEvent, { kind: 'JobEnded' }> => e.kind === 'JobEnded' && e.job === 'j-2');
  t.equal(second?.outcome, 'succeeded', 'the dependent ran and succeeded');
  t.ok(retired.has('j-3') && retired.get('j-3')! < ended.get('j-2')!, 'an unrelated job left while the dependent ran');
  t.ok(retired.get('j-1')! >= ended.get('j-2')!, 'j-1 stayed until the job that waited on it had ended');
  await sim.run(40_000);
  const late = sim.events.find((e): e is Extract<SchedulerEvent, { kind: 'JobEnded' }> => e.kind === 'JobEnded' && e.job === 'j-4');
  t.equal(late?.outcome, 'failed');
  t.match(late?.reason, /j-1 names a job retired from the live state/);
  await sim.close();
});

t.test('recovery from a snapshot and the log, and a replay of the whole log, give the live state; a recovered core goes on retiring', async (t) => {
  const jobs = Array.from({ length: 30 }, (_, i): SimJob => ({ at: i * 200, spec: job({ idempotencyKey: `k-${i}` }), durationMs: 700 }));
  const policy = { maxAgeMs: 2000, maxEndedPerTenant: 8, keyWindowMs: DAY };
  const sim = await run(jobs, policy, 4100);
  const events = sim.events;
  t.ok(events.some((e) => e.kind === 'JobsRetired'), 'some jobs were retired by then');
  const live = await liveJobs(sim);
  t.ok(live.size > 0, 'and some are live');

  const replayed = rebuild(events);
  t.same(rebuiltJobs(replayed), live, 'a replay of the whole log gives the live jobs');
  t.same(rebuiltJobs(sim.state), live, 'so does the state the harness kept as the events flowed');

  const cut = Math.floor(events.length / 2);
  const snapshot = encodeState(rebuild(events.slice(0, cut)));
  const recovered = rebuild(events.slice(cut), decodeState(snapshot));
  t.same(rebuiltJobs(recovered), live, 'snapshot + the log after it gives the live jobs');
  t.same(recovered.keys.encode(), replayed.keys.encode(), 'and the same kept keys');
  t.same([...recovered.outcomes.keys()].sort(), [...replayed.outcomes.keys()].sort(), 'and the same outcomes');

  // A core started from the recovered state retires what was ended and not yet retired.
  const clock = new VirtualClock(4100);
  const ended = [...recovered.jobs.values()].filter((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)).map((j) => j.id);
  t.ok(ended.length > 0, 'the recovered state holds ended jobs');
  const seen: SchedulerEvent[] = [];
  const core = await SchedulerCore.create({
    system: await sharedSystem(),
    sites: ['a'],
    agents: new RecordingAgents(),
    clock,
    recovered,
    lastSeq: events.length,
    retention: policy,
    sink: { write: (batch) => void seen.push(...batch) },
  });
  await core.settle();
  clock.advanceTo(4100 + policy.maxAgeMs + RETENTION_SWEEP_MS);
  await core.settle();
  const retiredAfter = new Set(seen.flatMap((e) => (e.kind === 'JobsRetired' ? e.jobs : [])));
  t.same(ended.filter((id) => !retiredAfter.has(id)), [], 'every ended job of the recovered state is retired after maxAge');
  const [again] = await core.submit('default', [job({ idempotencyKey: 'k-0' })]);
  t.match(again, { ok: true, job: 'j-1', existing: true }, 'a retired job\'s key still names it after recovery');
  await sim.close();
});

t.test('idempotency keys: the same id inside the window (retired or not), a new job after it, and a recovered core agrees', async (t) => {
  const policy = { maxAgeMs: 1000, maxEndedPerTenant: 100, keyWindowMs: 60_000 };
  const keyed = (at: number, key: string): SimJob => ({ at, spec: job({ idempotencyKey: key }), durationMs: 200 });
  const jobs = [keyed(0, 'a'), keyed(500, 'a'), keyed(10_000, 'a'), keyed(55_000, 'a'), keyed(62_000, 'a'), keyed(62_000, 'b'), keyed(63_000, 'b')];
  const sim = await run(jobs, policy, 70_000);
  const [first, , tenSeconds, inside, after, b, bAgain] = sim.jobIds;
  t.equal(sim.jobIds[1], first, 'resubmitted while the job is live: the same id');
  t.ok(retiredAt(sim.events).get(first!)! < 10_000, 'the job was retired by 10 s');
  t.equal(tenSeconds, first, 'retired, inside the window: the same id');
  t.equal(inside, first, 'at 55 s, still the same id');
  t.not(after, first, 'at 62 s (window 60 s from submission, plus at most the 1 s grain): a new job');
  t.equal(bAgain, b, 'a new key after that works as before');
  t.equal(new Set(sim.jobIds).size, 3, 'three jobs in all');
  t.ok(sim.events.some((e) => e.kind === 'KeysExpired'), 'the expiry was recorded');

  // A core recovered from the log of the first 50 s answers the retired key as the live one did.
  const upTo = sim.events.filter((e) => e.at <= 50_000);
  const clock = new VirtualClock(50_000);
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents: new RecordingAgents(), clock, recovered: rebuild(upTo), lastSeq: upTo.length, retention: policy });
  t.match((await core.submit('default', [job({ idempotencyKey: 'a' })]))[0], { ok: true, job: first, existing: true }, 'recovered, inside the window: the same id');
  clock.advanceTo(61_001);
  const [fresh] = await core.submit('default', [job({ idempotencyKey: 'a' })]);
  t.match(fresh, { ok: true, existing: false }, 'recovered, after the window: a new job');
  t.not((fresh as { job: string }).job, first);
  await sim.close();
});
