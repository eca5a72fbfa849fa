/**
 * The spec reference in PROTOCOL.md is what scripts/spec-reference.ts renders from the code now (a limit
 * changed without regenerating the block fails here), its defaults are what the readers make of a minimal
 * spec, its field lists are what the readers accept (read from their own refusals), and its example config
 * file is one the server reads.
 */
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL, EXAMPLE_CONFIG, TABLES, renderSpecReference, withReference } from '../../scripts/spec-reference.js';
import { formatDuration, isPreemptible, validateDocument, validateJob, validateNode, validateQueue } from '../../src/model/index.js';
import { resolveLiveness } from '../../src/scheduler/index.js';
import { CONFIG_KEYS, resolveConfig } from '../../src/server/index.js';
import { parse as parseYaml } from 'yaml';

const MINIMAL_JOB = { queue: 'q', tasks: [{ resources: {}, command: 'true' }] };

function table(title: string): (typeof TABLES)[number] {
  const found = TABLES.find((x) => x.title === title);
  if (!found) throw new Error(`no table ${title}`);
  return found;
}

/** A default cell as a value, when it is a plain literal (`0`, `false`, `` `binpack` ``, `100,000`, `` `{}` ``); else undefined. */
function literal(cell: string): unknown {
  if (cell === 'true' || cell === 'false') return cell === 'true';
  if (/^-?[\d,]+(\.\d+)?$/.test(cell)) return Number(cell.replaceAll(',', ''));
  if (cell === '`[]`') return [];
  if (cell === '`{}`') return {};
  const quoted = /^`([^`\s]+)`$/.exec(cell);
  return quoted ? quoted[1] : undefined;
}

/** Every field of the table whose default is a literal, checked against what the reader made. */
function checkDefaults(t: Test, title: string, read: Readonly<Record<string, unknown>>, skip: readonly string[] = []): void {
  const { fields, docs } = table(title);
  let checked = 0;
  for (const field of fields) {
    const value = literal(docs[field]!.default);
    if (value === undefined || skip.includes(field)) continue;
    t.same(read[field], value, `${title}: ${field} defaults to ${docs[field]!.default}`);
    checked++;
  }
  t.ok(checked > 0, `${title}: some defaults were checked`);
}

t.test('PROTOCOL.md holds the reference as the code renders it now', async (t) => {
  const text = readFileSync(PROTOCOL, 'utf8');
  t.equal(withReference(text, renderSpecReference()), text, 'regenerate with: node --import=tsx scripts/spec-reference.ts');
});

t.test('the documented defaults are what the readers make of a minimal spec', async (t) => {
  const job = validateJob(MINIMAL_JOB);
  if (!job.ok) throw new Error(JSON.stringify(job.problems));
  // `preemptible` and `mayPreempt` are kept only when they differ from their defaults (absent: the default).
  checkDefaults(t, 'Job', job.value as unknown as Record<string, unknown>, ['kind', 'preemptible', 'mayPreempt']);
  t.same([isPreemptible(job.value), job.value.mayPreempt === true], [literal(table('Job').docs['preemptible']!.default), literal(table('Job').docs['mayPreempt']!.default)], 'Job: preemptible and mayPreempt defaults');
  checkDefaults(t, 'Task group', job.value.tasks[0] as unknown as Record<string, unknown>);
  checkDefaults(t, 'Resources', job.value.tasks[0]!.resources as unknown as Record<string, unknown>);
  checkDefaults(t, 'Retries', job.value.retries as unknown as Record<string, unknown>);
  t.equal(table('Retries').docs['backoff']!.default, formatDuration(job.value.retries.backoffMs), 'Retries: backoff default');
  t.equal(job.value.tasks[0]!.name, 'main', 'the first group is main');

  const node = validateNode({ name: 'n1', site: 'local', capacity: {} });
  if (!node.ok) throw new Error(JSON.stringify(node.problems));
  checkDefaults(t, 'Node', node.value as unknown as Record<string, unknown>, ['kind']);
  const queue = validateQueue({ tenant: 'acme', name: 'batch' });
  if (!queue.ok) throw new Error(JSON.stringify(queue.problems));
  checkDefaults(t, 'Queue', queue.value as unknown as Record<string, unknown>, ['kind']);

  const config = await resolveConfig({});
  checkDefaults(t, 'Config file', { ...config, sites: undefined } as unknown as Record<string, unknown>, ['sites']);
  t.equal(table('Config file').docs['sites']!.default, `\`[${config.sites.join(', ')}]\``, 'Config file: sites default');
  checkDefaults(t, 'Config: snapshot', config.snapshot);
  checkDefaults(t, 'Config: liveness', resolveLiveness(config.liveness).options as unknown as Record<string, unknown>);
  const retention = table('Config: retention').docs;
  t.equal(retention['maxAge']!.default, formatDuration(config.retention.maxAgeMs));
  t.equal(retention['keyWindow']!.default, formatDuration(config.retention.keyWindowMs));
  t.equal(literal(retention['maxEndedPerTenant']!.default), config.retention.maxEndedPerTenant);
});

t.test('every field a reader accepts is in its table, and no other (read from the readers\' refusals)', async (t) => {
  const expected = (problems: readonly { code: string; message: string }[]): string[] => {
    const unknown = problems.find((p) => p.code === 'MUSTER_ERR_UNKNOWN_FIELD');
    const list = unknown && /expected one of: (.*)\)$/.exec(unknown.message)?.[1];
    if (!list) throw new Error(`no unknown-field refusal in ${JSON.stringify(problems)}`);
    return list.split(', ');
  };
  const refused = (result: { ok: boolean; problems?: readonly { code: string; message: string }[] }): string[] => expected(result.ok ? [] : result.problems!);
  const cases: [string, ReturnType<typeof validateJob> | ReturnType<typeof validateNode>][] = [
    ['Job', validateJob({ ...MINIMAL_JOB, nodeCount: 2 })],
    ['Task group', validateJob({ queue: 'q', tasks: [{ resources: {}, command: 'true', ntasks: 1 }] })],
    ['Resources', validateJob({ queue: 'q', tasks: [{ resources: { cpus: 1 }, command: 'true' }] })],
    ['Constraints', validateJob({ ...MINIMAL_JOB, constraints: { nodes: ['a'] } })],
    ['Selectors', validateJob({ ...MINIMAL_JOB, constraints: { selectors: [{ key: 'a', op: 'exists', not: true }] } })],
    ['Dependencies', validateJob({ ...MINIMAL_JOB, dependencies: [{ type: 'afterok', job: 'j-1', after: 'x' }] })],
    ['Retries', validateJob({ ...MINIMAL_JOB, retries: { max: 1, delay: '1s' } })],
    ['Node', validateNode({ name: 'n', site: 'local', capacity: {}, zone: 'a' })],
    ['Queue', validateQueue({ tenant: 'a', name: 'b', share: 1 }) as ReturnType<typeof validateNode>],
    ['Site', validateDocument({ kind: 'Site', name: 'a', region: 'x' }) as ReturnType<typeof validateNode>],
  ];
  for (const [title, result] of cases) t.same(refused(result), [...table(title).fields], `${title}: the table lists what the reader accepts`);
  const config = await resolveConfig({ config: writeTemp('unknown.yaml', 'site: [a]\n') }).catch((err: Error) => err.message);
  t.match(config, `expected one of: ${table('Config file').fields.join(', ')}`, 'Config file: the table lists what the server reads');
});

t.test('the example config file has every key and is one the server reads', async (t) => {
  const keys = Object.keys(parseYaml(EXAMPLE_CONFIG) as Record<string, unknown>);
  t.same(keys.sort(), [...CONFIG_KEYS].sort(), 'every key, once');
  const config = await resolveConfig({ config: writeTemp('server.yaml', EXAMPLE_CONFIG) });
  t.same(config.sites, ['eu-1', 'eu-2']);
  t.equal(config.queues.length, 4);
  t.equal(config.etcd?.endpoints.length, 3);
});

const dir = t.testdir({});
function writeTemp(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
