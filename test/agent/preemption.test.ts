/**
 * Preemption with a real agent running real processes. There is no policy yet, so the test preempts through
 * the core's entry point (`core.preempt`, what the policy will call), on an in-process server:
 *
 * - a task that traps SIGTERM and keeps running, with `gracePeriod: 2s`, receives SIGTERM, is SIGKILLed after
 *   its grace (not the agent's default of 20 s here: the grace is the job's, carried with the kill), goes
 *   back to pending with its retries unspent (it has none) and runs again as attempt 2;
 * - a task that exits on SIGTERM ends as soon as it exits, long before its grace (30 s) would run out;
 * - the job's events show the preemption and who preempted it; `muster job` shows it on the attempt.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { jobLines } from '../../src/cli/job.js';
import type { JobEvent } from '../../src/client/index.js';
import { until } from '../helpers/until.js';
import { inProcessAgent } from './in-process-agent.js';
const BY = { job: 'j-urgent', queue: 'prod' };
/** The agent's own grace: far longer than the jobs' 2 s, so a SIGKILL at ~2 s can only be the job's grace. */
const AGENT_GRACE_MS = 20_000;

function looping(onTerm: string, gracePeriod: string): Record<string, unknown> {
  // `sleep` dies of the group's SIGTERM; the shell's trap decides whether the task goes on. Only the first
  // attempt traps it: the next one dies of SIGTERM, so stopping the agent at the end does not wait its grace.
  const script = `if [ "$MUSTER_ATTEMPT" = 1 ]; then trap '${onTerm}' TERM; fi; echo up; while true; do sleep 0.1; done`;
  return { queue: 'default', gracePeriod, tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['sh', '-c', script] }] };
}

t.test('preemption: SIGTERM, SIGKILL after the job grace period, back to pending without spending a retry, a new attempt', async (t) => {
  const { server, client, work } = await inProcessAgent(t, AGENT_GRACE_MS);

  // Every job event, in order, from before the submission: the test waits on them.
  const watch = client.watch({ tenant: 'default' });
  await watch.ready;
  const seen: JobEvent[] = [];
  const next = async (what: string, holds: (e: JobEvent) => boolean): Promise<JobEvent> => {
    const found = seen.find(holds);
    if (found) return found;
    // `next()`, not `for await`: leaving a `for await` early would close the watch.
    for (;;) {
      const { value, done } = await watch.next();
      if (done) throw new Error(`the watch ended before ${what}`);
      seen.push(value);
      if (holds(value)) return value;
    }
  };

  const results = await client.submit([looping('echo got TERM', '2s'), looping('echo got TERM; exit 0', '30s')]);
  const [stubborn, prompt] = results.map((r) => (r.ok ? r.job : ''));
  const started = (job: string, attempt: number) => (e: JobEvent) => e.job === job && e.type === 'started' && e.attempt === attempt;
  await next('the stubborn task started', started(stubborn!, 1));
  await next('the prompt task started', started(prompt!, 1));
  // Both shells have set their traps once they said so (a SIGTERM before that would kill them outright).
  const stdout = (job: string, attempt: number): string => readFileSync(join(work, 'jobs', job, '0', String(attempt), 'stdout'), 'utf8');
  for (const job of [stubborn!, prompt!]) await until(`${job} up`, async () => stdout(job, 1), (out) => out.includes('up'));

  const attempts = [stubborn!, prompt!].map((job) => ({ job, task: 0, attempt: 1, node: 'box' }));
  const preempted = await server.server.core.preempt({ attempts, by: BY, reason: 'test' });
  t.same(preempted, attempts, 'both live attempts are preempted');

  const marked = await next('the stubborn preemption', (e) => e.job === stubborn && e.type === 'preempted');
  t.match(marked, { task: 0, attempt: 1, node: 'box', by: BY, reason: 'test' }, 'the event stream says who preempted it');
  const ended = (job: string) => (e: JobEvent) => e.job === job && e.type === 'task-ended' && e.attempt === 1;

  const promptEnd = await next('the prompt task ended', ended(prompt!));
  t.match(promptEnd, { outcome: 'killed', reason: 'preempted' });
  t.ok(promptEnd.at - marked.at < 15_000, `the prompt task ended when it exited (${promptEnd.at - marked.at} ms), not at its 30 s grace`);

  const stubbornEnd = await next('the stubborn task ended', ended(stubborn!));
  t.match(stubbornEnd, { outcome: 'killed', reason: 'preempted' });
  t.match(stdout(stubborn!, 1), /got TERM/, 'it received SIGTERM');
  const held = stubbornEnd.at - marked.at;
  t.ok(held >= 2_000 && held < AGENT_GRACE_MS, `SIGKILLed after its 2 s grace (${held} ms after the preemption), not the agent's ${AGENT_GRACE_MS} ms`);

  // Back to pending, retries unspent (it has none: a counted kill would have failed the job), and again.
  await next('the stubborn task running again', started(stubborn!, 2));
  await next('the prompt task running again', started(prompt!, 2));
  const job = await client.job(stubborn!);
  t.equal(job.status, 'running');
  t.match(job.taskList[0], { state: 'running', attempt: 2, failures: 0 });
  t.match(job.taskList[0]!.attempts![0], { attempt: 1, outcome: 'killed', preemptedBy: BY, preemptedAt: marked.at });
  t.match(jobLines(job).join('\n'), /preempted by job j-urgent of queue prod at /, '`muster job` shows it on the attempt');
  t.equal((await client.job(prompt!)).taskList[0]!.failures, 0);
});
