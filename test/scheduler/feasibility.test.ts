/**
 * "Never" versus "not now", case by case: every reason a job can never run on the nodes known, each naming
 * the spec field to change; nodes in any state count; no node at all says nothing; the cache follows the
 * nodes and tells jobs apart by shape, not by command.
 */
import t from 'tap';
import type { NodeSpec } from '../../src/model/index.js';
import { FeasibilityCache, neverRuns } from '../../src/scheduler/feasibility.js';
import { job, node } from '../helpers/scheduler.js';

const paths = (spec: Parameters<typeof neverRuns>[0], nodes: readonly NodeSpec[]): string[] => neverRuns(spec, nodes).map((p) => p.path);

const small = node('s1', 'a', { cpu: '2', memory: '4Gi' }, { disk: 'hdd' });
const big = node('b1', 'b', { cpu: '16', memory: '8Gi', gpu: 2 }, { disk: 'ssd' });
const fpga = node('f1', 'a', { cpu: '2', memory: '64Gi', extended: { fpga: 1 } });
const nodes = [small, big, fpga];

t.test('each reason, with the path of the field', async (t) => {
  const cases: [string, ReturnType<typeof job>, string[]][] = [
    ['fits somewhere', job({}, { resources: { cpu: '4', memory: '1Gi' } }), []],
    ['too much cpu and memory', job({}, { resources: { cpu: '64', memory: '128Gi' } }), ['tasks[0].resources.cpu', 'tasks[0].resources.memory']],
    ['too many gpus', job({}, { resources: { cpu: '1', memory: '1Gi', gpu: 4 } }), ['tasks[0].resources.gpu']],
    ['an extended resource nobody has enough of', job({}, { resources: { cpu: '1', memory: '1Gi', extended: { fpga: 2 } } }), ['tasks[0].resources.fpga']],
    ['each amount fits somewhere, all of them nowhere', job({}, { resources: { cpu: '16', memory: '64Gi' } }), ['tasks[0].resources']],
    ['no node in the site', job({ constraints: { sites: ['c'] } }), ['constraints.sites']],
    ['no node with the labels', job({ constraints: { selectors: ['disk=nvme'] } }), ['constraints.selectors']],
    ['labels only outside the site', job({ constraints: { sites: ['a'], selectors: ['disk=ssd'] } }), ['constraints.selectors']],
    ['big enough only outside the site', job({ constraints: { sites: ['a'] } }, { resources: { cpu: '8', memory: '1Gi' } }), ['tasks[0].resources.cpu']],
    ['more distinct tasks than nodes', job({ distinctNodes: true }, { count: 4 }), ['distinctNodes']],
    ['distinct tasks that fit', job({ distinctNodes: true }, { count: 3 }), []],
  ];
  for (const [what, spec, expected] of cases) t.same(paths(spec, nodes), expected, what);
});

t.test('a gang whose groups fit only in different sites', async (t) => {
  const spec = job({ gang: true, tasks: [
    { resources: { cpu: '8', memory: '1Gi' }, command: 'a' },
    { resources: { cpu: '1', memory: '32Gi' }, command: 'b' },
  ] });
  t.same(paths(spec, nodes), ['gang']);
  t.same(paths({ ...spec, gang: false }, nodes), [], 'not a gang: each group has its node');
});

t.test('nodes in any state count; no node at all gives no reason', async (t) => {
  const lost: NodeSpec = { ...big, state: 'lost' };
  t.same(paths(job({}, { resources: { cpu: '8', memory: '1Gi' } }), [small, lost]), [], 'a lost node may come back');
  t.same(paths(job({}, { resources: { cpu: '640', memory: '1Gi' } }), []), [], 'a fresh cluster takes work');
});

t.test('the cache follows node changes and ignores commands', async (t) => {
  let version = 0;
  let known: NodeSpec[] = [small];
  let walks = 0;
  const cache = new FeasibilityCache({ get version() { return version; }, nodeSpecs: () => (walks++, known) });
  const wide = job({}, { resources: { cpu: '8', memory: '1Gi' }, command: 'one' });
  t.same(cache.neverRuns(wide).map((p) => p.path), ['tasks[0].resources.cpu']);
  t.same(cache.neverRuns({ ...wide, tasks: [{ ...wide.tasks[0]!, command: 'two' }] }).map((p) => p.path), ['tasks[0].resources.cpu'], 'another command, same shape');
  t.equal(walks, 1, 'one walk for both');
  known = [small, big];
  version++;
  t.same(cache.neverRuns(wide), [], 'a node that can run it joined');
});
