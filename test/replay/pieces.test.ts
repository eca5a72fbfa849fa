/** The replay's pieces on their own: the step series, the flags' forms, the attempt rules, the script. */
import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { attemptBehaviour, DEFAULT_ATTEMPT_MS } from '../../src/replay/attempt-behaviour.js';
import { NO_CHANGES, parseNodeChange, parseQueueField, parseQueueWeight, type NodeChange, type PolicyChanges } from '../../src/replay/changes.js';
import { RecordingExtractor, type Recording } from '../../src/replay/recording.js';
import { StepSeries } from '../../src/replay/step-series.js';
import { buildScript } from '../../src/replay/what-if.js';
import { job, node, queue } from '../helpers/scheduler.js';

t.test('a step series integrates each value over the time it held, bucket by bucket', async (t) => {
  const cases: [string, [number, number][], number, number, { total: number; buckets: number[] }][] = [
    ['held then dropped', [[0, 2], [5, 0]], 10, 2, { total: 10, buckets: [10, 0] }],
    ['spanning buckets', [[3, 1], [8, 0]], 10, 5, { total: 5, buckets: [0, 1, 2, 2, 0] }],
    ['held to the end', [[4, 3]], 10, 2, { total: 18, buckets: [3, 15] }],
    ['a later value at the same time replaces the earlier', [[0, 5], [0, 1]], 4, 1, { total: 4, buckets: [4] }],
    ['changes past the window are cut', [[0, 1], [20, 9]], 10, 2, { total: 10, buckets: [5, 5] }],
    ['an empty window', [[0, 1]], 0, 3, { total: 0, buckets: [0, 0, 0] }],
  ];
  for (const [name, changes, end, buckets, expected] of cases) {
    const series = new StepSeries();
    for (const [at, value] of changes) series.set('k', value, at);
    t.same(series.integrate('k', 0, end, buckets), expected, name);
  }
  t.same(new StepSeries().integrate('never', 0, 10, 2), { total: 0, buckets: [0, 0] }, 'a key never set is 0');
});

t.test('flag forms: queue weights and node changes', async (t) => {
  const weights: [string, unknown][] = [
    ['batch=3', { ok: true, value: { kind: 'queueWeight', queue: 'batch', weight: 3, source: '--queue-weight batch=3' } }],
    ['org/team=0.5', { ok: true, value: { kind: 'queueWeight', queue: 'org/team', weight: 0.5, source: '--queue-weight org/team=0.5' } }],
    ['batch=x', { ok: false, message: /write QUEUE=WEIGHT/ }],
    ['batch=', { ok: false }],
    ['=3', { ok: false }],
    ['batch=0', { ok: false, message: /above 0/ }],
    ['batch=2000000', { ok: false, message: /at most 1000000/ }],
  ];
  for (const [text, expected] of weights) t.match(parseQueueWeight(text), expected, text);
  const fields: [string, unknown][] = [
    ['batch:guaranteedShare=0.3', { ok: true, value: { kind: 'queueField', queue: 'batch', field: 'guaranteedShare', value: 0.3 } }],
    ['org/team:guarantee.memory=16Gi', { ok: true, value: { queue: 'org/team', field: 'guarantee', value: { memory: 16384, extended: {} } } }],
    ['batch:borrowLimit.fpga=2', { ok: true, value: { field: 'borrowLimit', value: { extended: { fpga: 2 } } } }],
    ['batch:borrow=false', { ok: true, value: { field: 'borrow', value: false } }],
    ['batch:disruptionBudget=10', { ok: true, value: { field: 'disruptionBudget', value: 10 } }],
    ['batch:protectFor=2m', { ok: true, value: { field: 'protectFor', value: 120_000 } }],
    ['batch:gracePeriod=1h', { ok: false, message: /gracePeriod: at most 10m/ }],
    ['batch:guaranteedShare=2', { ok: false, message: /--queue-set batch:guaranteedShare=2: guaranteedShare: / }],
    ['batch:guarantee.cpu=lots', { ok: false, message: /guarantee.cpu: "lots" is not a cpu quantity/ }],
    ['batch:guarantee=8', { ok: false, message: /name one resource/ }],
    ['batch:weight.cpu=8', { ok: false, message: /weight has no parts/ }],
    ['batch:colour=red', { ok: false, message: /colour is not one of weight, priority/ }],
    ['batch:borrow=maybe', { ok: false, message: /borrow: / }],
    ['batch=3', { ok: false, message: /write QUEUE:FIELD=VALUE/ }],
  ];
  for (const [text, expected] of fields) t.match(parseQueueField(text), expected, text);
  const nodes: [string, unknown][] = [
    ['site=a:+10', { ok: true, value: { kind: 'addNodes', site: 'a', count: 10 } }],
    ['site=a:-5', { ok: true, value: { kind: 'removeNodes', site: 'a', count: 5 } }],
    ['n-7=drain', { ok: true, value: { kind: 'drainNode', node: 'n-7' } }],
    ['n-7=remove', { ok: true, value: { kind: 'removeNode', node: 'n-7' } }],
    ['site=a:+0', { ok: false, message: /from 1 to/ }],
    ['site=a:10', { ok: false, message: /site=SITE:\+N/ }],
    ['n1=explode', { ok: false }],
    ['a:+1', { ok: false }],
  ];
  for (const [text, expected] of nodes) t.match(parseNodeChange(text), expected, text);
});

t.test('attempts run as recorded where the recording knows, by the fallback rules where it cannot', async (t) => {
  const spec = job({}, { count: 2, timeLimit: '30s' });
  const attempts = new Map([
    ['0#1', { startedAt: 100, endedAt: 1100, outcome: 'failed' as const, exitCode: 2 }],
    ['0#2', { startedAt: 2000, endedAt: 5000, outcome: 'succeeded' as const, exitCode: undefined }],
    ['1#1', { startedAt: 100, endedAt: 30_100, outcome: 'timeout' as const, exitCode: undefined }],
    ['1#2', { startedAt: 40_000, endedAt: undefined, outcome: undefined, exitCode: undefined }],
    ['1#3', { startedAt: undefined, endedAt: 50_000, outcome: 'killed' as const, exitCode: undefined }],
  ]);
  const behaviour = attemptBehaviour({ id: 'j-1', at: 0, tenant: 'acme', spec, attempts }, { endMs: 45_000, medianMs: 7000 });
  // The job's median of attempts that ran to an end: 1,000 and 3,000 → the lower median, 1,000.
  t.same(behaviour(0, 1), { durationMs: 1000, outcome: 'failed', exitCode: 2 }, 'rule 1: failed, with its exit code');
  t.same(behaviour(0, 2), { durationMs: 3000, outcome: 'succeeded' }, 'rule 1: succeeded');
  t.equal(behaviour(1, 1), 'hang', 'rule 2: a timeout runs into its limit again');
  t.same(behaviour(1, 2), { durationMs: 5000, outcome: 'succeeded' }, 'rule 3: still running: the longer of 5 s so far and the fallback');
  t.same(behaviour(1, 3), { durationMs: 1000, outcome: 'succeeded' }, 'rule 4: killed: the job median');
  t.same(behaviour(0, 9), { durationMs: 1000, outcome: 'succeeded' }, 'rule 4: an attempt the recording lacks');

  const untouched = { id: 'j-2', at: 0, tenant: 'acme', attempts: new Map() };
  t.same(attemptBehaviour({ ...untouched, spec }, { endMs: 0, medianMs: 7000 })(0, 1), { durationMs: 29_999, outcome: 'succeeded' }, 'then the time limit, less 1 ms');
  t.same(attemptBehaviour({ ...untouched, spec: job() }, { endMs: 0, medianMs: 7000 })(0, 1), { durationMs: 7000, outcome: 'succeeded' }, 'then the history median');
  t.same(attemptBehaviour({ ...untouched, spec: job() }, { endMs: 0, medianMs: undefined })(0, 1), { durationMs: DEFAULT_ATTEMPT_MS, outcome: 'succeeded' }, 'then the default');
});

/** A small recording: sites a (n0, n1, n2) and b (m0); three jobs at one instant from two tenants. */
function recording(): Recording {
  const at = 1_000_000;
  const events: SchedulerEvent[] = [
    { kind: 'QueueDefined', at, queue: queue({ name: 'batch', weight: 2 }) },
    ...['n0', 'n1', 'n2'].map((name, i): SchedulerEvent => ({ kind: 'NodeJoined', at: at + i, node: node(name, 'a') })),
    { kind: 'NodeJoined', at: at + 3, node: node('m0', 'b') },
    { kind: 'JobSubmitted', at: at + 10, job: 'j-1', tenant: 'x', spec: job({ queue: 'batch' }) },
    { kind: 'JobSubmitted', at: at + 10, job: 'j-2', tenant: 'y', spec: job({ queue: 'adhoc' }) },
    { kind: 'JobSubmitted', at: at + 10, job: 'j-3', tenant: 'x', spec: job({ queue: 'batch', dependencies: [{ type: 'afterok', job: 'j-2' }] }) },
    { kind: 'NodeStateChanged', at: at + 20, node: 'n1', state: 'down' },
    { kind: 'NodeStateChanged', at: at + 21, node: 'n0', state: 'draining' },
    { kind: 'JobCancelRequested', at: at + 30, job: 'j-2' },
  ];
  const extractor = new RecordingExtractor();
  for (const e of events) extractor.observe(e);
  return extractor.recording();
}

function nodeChanges(...texts: string[]): NodeChange[] {
  return texts.map((text) => {
    const parsed = parseNodeChange(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.value;
  });
}

function withChanges(parts: Partial<PolicyChanges>): PolicyChanges {
  return { ...NO_CHANGES, ...parts };
}

t.test('the baseline script: times from the first event, jobs in the order the simulation numbers them', async (t) => {
  const { script, expectedIds } = buildScript(recording(), NO_CHANGES);
  t.same(script.sites, ['a', 'b']);
  t.same(script.nodes.map((n) => [n.at, n.spec.name]), [[0, 'n0'], [1, 'n1'], [2, 'n2'], [3, 'm0']]);
  t.same(script.nodeStates, [{ at: 20, node: 'n1', state: 'down' }, { at: 21, node: 'n0', state: 'draining' }]);
  t.same(script.jobs.map((j) => [j.at, j.tenant, j.spec.queue]), [[10, 'x', 'batch'], [10, 'x', 'batch'], [10, 'y', 'adhoc']], 'one batch per tenant at an instant');
  t.same(expectedIds, ['j-1', 'j-2', 'j-3']);
  t.same(script.jobs[1]?.spec.dependencies, [{ type: 'afterok', job: 'j-3' }], 'the dependency follows recorded j-2 to its new id');
  t.same(script.cancels, [{ at: 30, job: 2 }], 'the cancel follows the job');
  t.same(script.queues?.map((q) => [q.name, q.weight]), [['batch', 2]]);
});

t.test('what-if scripts: weights, strategy and node changes; what the history lacks is a coded error', async (t) => {
  const weights = buildScript(recording(), withChanges({ queueWeights: [parseQueueWeight('adhoc=5'), parseQueueWeight('batch=1')].map((p) => (p.ok ? p.value : undefined)!) }));
  t.same(weights.script.queues?.map((q) => [q.name, q.tenant, q.weight]), [['adhoc', 'y', 5], ['batch', 'acme', 1]], 'an undefined queue gets the defaults, owned by its first tenant');
  t.ok(buildScript(recording(), withChanges({ strategy: 'spread' })).script.jobs.every((j) => j.spec.strategy === 'spread'));

  const fleet = buildScript(recording(), withChanges({ nodes: nodeChanges('site=a:+2', 'site=a:-1', 'n1=drain', 'm0=remove') })).script;
  t.same(fleet.nodes.map((n) => [n.at, n.spec.name, n.spec.site]), [[0, 'n0', 'a'], [1, 'n1', 'a'], [0, 'n0-whatif-1', 'a'], [0, 'n0-whatif-2', 'a']], 'n2 (last to join) and m0 gone, two copies of n0 added');
  t.same(fleet.nodeStates, [{ at: 1, node: 'n1', state: 'draining' }, { at: 21, node: 'n0', state: 'draining' }], 'n1 drains from its join; its own changes dropped');

  const errors: [string, Partial<PolicyChanges>, { code: string; message: RegExp }][] = [
    ['unknown queue', { queueWeights: [{ kind: 'queueWeight', queue: 'nope', weight: 2, source: '--queue-weight nope=2' }] }, { code: 'MUSTER_ERR_USAGE', message: /--queue-weight nope=2: the history has no queue nope \(it has adhoc, batch\)/ }],
    ['unknown site', { nodes: nodeChanges('site=c:+1') }, { code: 'MUSTER_ERR_UNKNOWN_SITE', message: /--nodes site=c:\+1/ }],
    ['unknown node', { nodes: nodeChanges('n9=remove') }, { code: 'MUSTER_ERR_UNKNOWN_NODE', message: /--nodes n9=remove/ }],
    ['too many removed', { nodes: nodeChanges('n0=remove', 'site=a:-3') }, { code: 'MUSTER_ERR_USAGE', message: /site a has 2 nodes left to remove/ }],
  ];
  for (const [name, parts, expected] of errors) t.throws(() => buildScript(recording(), withChanges(parts)), expected, name);
});
