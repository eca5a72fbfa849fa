/**
 * The spec reference in PROTOCOL.md ("Spec reference"), rendered from the code so that it cannot drift:
 * the field lists are the ones the readers accept (`JOB_FIELDS`, `NODE_FIELDS`, `CONFIG_KEYS`, …), every
 * limit and default named below is the constant the readers use. What each field means is written here, by
 * hand, once per field; rendering refuses a field the code accepts and this file does not describe, and a
 * description of a field the code does not accept.
 *
 *   node --import=tsx scripts/spec-reference.ts          rewrites the block between the markers in PROTOCOL.md
 *   node --import=tsx scripts/spec-reference.ts --check  exits 1 when PROTOCOL.md differs from the rendering
 *
 * test/scripts/spec-reference.test.ts runs the check in `npm test`, and checks the defaults below against
 * what the readers make of a minimal spec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_OUTPUT_KEEP_BYTES, DEFAULT_PORT, KILL_GRACE_MS, ROLES } from '../src/api/index.js';
import {
  CONSTRAINT_FIELDS,
  DEFAULT_BACKOFF_MS,
  DEPENDENCY_FIELDS,
  DEPENDENCY_TYPES,
  JOB_FIELDS,
  MAX_QUEUE_DEPTH,
  NODE_FIELDS,
  NODE_STATES,
  QUEUE_FIELDS,
  RESOURCE_FIELDS,
  RETRY_FIELDS,
  SELECTOR_FIELDS,
  SELECTOR_OPS,
  SITE_FIELDS,
  STRATEGIES,
  TASK_FIELDS,
  formatDuration,
  limits,
} from '../src/model/index.js';
import { DEFAULT_LIVENESS, DEFAULT_RETENTION, MIN_FENCE_MARGIN_MS, resolveLiveness } from '../src/scheduler/index.js';
// Not exported by the scheduler's door (nothing else outside it needs them); read where they are defined.
import { MAX_QUEUES_PER_TENANT } from '../src/scheduler/queue-ownership.js';
import { MAX_BACKOFF_MS } from '../src/scheduler/tasks.js';
import {
  CONFIG_KEYS,
  DEFAULT_DATA_DIR,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_LEASE_TTL_SECONDS,
  DEFAULT_SITES,
  ETCD_KEYS,
  ETCD_TLS_KEYS,
  HA_LOST_AFTER_MS,
  LIVENESS_KEYS,
  MAX_OUTPUT_KEEP_BYTES,
  MIN_TOKEN_LENGTH,
  OUTPUT_KEYS,
  RETENTION_KEYS,
  SNAPSHOT_EVERY_EVENTS,
  SNAPSHOT_EVERY_SECONDS,
  SNAPSHOT_KEYS,
  TOKEN_ENTRY_KEYS,
} from '../src/server/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PROTOCOL = join(ROOT, 'PROTOCOL.md');
export const BEGIN = '<!-- spec-reference:begin (rendered by scripts/spec-reference.ts; edit that file, not this block) -->';
export const END = '<!-- spec-reference:end -->';

/** One field of a table: its type (with its bounds), its default, what it does. */
export interface FieldDoc {
  readonly type: string;
  /** The default when the field is absent; `required` for a required field. */
  readonly default: string;
  readonly meaning: string;
}

/** A rendered table: every field `fields` lists, in that order, described by `docs`. */
interface Table {
  readonly title: string;
  readonly intro: string;
  readonly fields: readonly string[];
  readonly docs: Readonly<Record<string, FieldDoc>>;
}

const n = (value: number): string => value.toLocaleString('en-US');
const code = (value: string): string => `\`${value}\``;
const list = (values: readonly string[]): string => values.map(code).join(', ');
const REQUIRED = 'required';
const NAME = `a name: lower-case letters, digits and \`-\`, starting and ending with a letter or digit, at most ${n(limits.MAX_NAME_LENGTH)} characters`;
const ms = (value: number): string => `${n(value)} ms (${formatDuration(value)})`;

const L = limits;

const JOB: Table = {
  title: 'Job',
  intro:
    'A job document (`kind: Job`, the default), and each element of `jobs` in `submit` and `POST /v1/jobs`. `queue` and `tasks` are required.',
  fields: JOB_FIELDS,
  docs: {
    kind: {
      type: 'string',
      default: '`Job`',
      meaning:
        'In a spec file, the document\'s kind: `muster validate` accepts `Job`, `Queue`, `Node`, `Site`; `muster submit -f` sends only jobs. The job reader does not read it, so a submitted job is accepted whatever its `kind`.',
    },
    name: { type: NAME, default: 'none', meaning: 'Shown in job views and the `submitted` event.' },
    queue: {
      type: `a queue name: 1 to ${MAX_QUEUE_DEPTH} names joined by \`/\` (each as \`name\`)`,
      default: REQUIRED,
      meaning: 'The queue the job waits in; it must be the submitting tenant\'s, or new ([Queues and tenants](#queues-and-tenants)).',
    },
    priority: {
      type: `integer in [${n(-L.MAX_PRIORITY)}, ${n(L.MAX_PRIORITY)}]`,
      default: '0',
      meaning: 'Order within its queue: higher first, then submission order.',
    },
    tasks: {
      type: `array of 1 to ${n(L.MAX_TASK_GROUPS)} [task groups](#task-group); their \`count\`s add up to at most ${n(L.MAX_TASKS_PER_JOB)}`,
      default: REQUIRED,
      meaning: 'What runs. Group names must differ. With `array`, these are the tasks of each element.',
    },
    constraints: { type: '[constraints](#constraints)', default: 'any site, any node', meaning: 'Where the job may run.' },
    strategy: {
      type: `one of ${list(STRATEGIES)}`,
      default: '`binpack`',
      meaning: 'How a task picks among the nodes that fit: `binpack`, the first in the site\'s node order (work piles onto the fewest nodes); `spread`, the one with the largest free fraction of cpu plus memory.',
    },
    distinctNodes: { type: 'boolean', default: 'false', meaning: 'No two tasks of the job on one node.' },
    gang: {
      type: 'boolean',
      default: 'false',
      meaning: 'All tasks of an element (of the job, when it is not an array) start together, in one site, or none does.',
    },
    array: {
      type: `integer in [1, ${n(L.MAX_ARRAY_SIZE)}]`,
      default: 'not an array',
      meaning:
        'This many indexed copies (elements) of the tasks. A task sees its element in `MUSTER_ARRAY_INDEX` (from 0) and its index among all the job\'s tasks in `MUSTER_TASK_INDEX` (from 0). Elements are independent: one failing for good does not end the others (the job still ends `failed`).',
    },
    dependencies: {
      type: `array of at most ${n(L.MAX_DEPENDENCIES)} [dependencies](#dependencies)`,
      default: 'none',
      meaning: 'Jobs that must end (as the type says) before this one is placed.',
    },
    retries: { type: '[retries](#retries)', default: `\`{ max: 0, backoff: ${formatDuration(DEFAULT_BACKOFF_MS)} }\``, meaning: 'How often a failed task is tried again.' },
    idempotencyKey: {
      type: `string of 1 to ${n(L.MAX_IDEMPOTENCY_KEY_LENGTH)} characters`,
      default: 'none',
      meaning: 'Per tenant: a second submission with the same key gets the first job\'s id ([`submit`](#submit), [Retention](#retention)).',
    },
    gracePeriod: {
      type: `[duration](#units), at most ${formatDuration(L.MAX_GRACE_PERIOD_MS)}`,
      default: `${formatDuration(KILL_GRACE_MS)} (the server's kill grace)`,
      meaning:
        'How long a preempted task has between SIGTERM and SIGKILL (the `graceMs` of its `kill`, reason `preempted`): time to checkpoint. Other kills (cancel, drain, requeue) keep the server\'s grace.',
    },
    preemptible: {
      type: 'boolean',
      default: 'true',
      meaning: 'Whether a task of the job may be preempted at all ([Preemption](#preemption)); `false`: never.',
    },
    mayPreempt: {
      type: 'boolean',
      default: 'false',
      meaning:
        'Whether the job may preempt lower-priority jobs of its own queue. For the preemption policy, which is not built yet: today nothing preempts on its own ([Preemption](#preemption)).',
    },
  },
};

const TASK: Table = {
  title: 'Task group',
  intro: 'Each element of a job\'s `tasks`: `count` tasks alike. `resources` and `command` are required.',
  fields: TASK_FIELDS,
  docs: {
    name: { type: NAME, default: '`main` for the first group, `group-N` for the group at index N', meaning: 'Names the group in views and messages.' },
    count: { type: `integer in [1, ${n(L.MAX_TASKS_PER_JOB)}]`, default: '1', meaning: 'Tasks in this group (per element of an array).' },
    resources: { type: '[resources](#resources)', default: REQUIRED, meaning: 'What each task holds while it runs; a memory request is rounded up to whole MiB.' },
    command: {
      type: `a string, or an array of strings (the program, then its arguments; at most ${n(L.MAX_COMMAND_ARGS + 1)} words)`,
      default: REQUIRED,
      meaning: `The program (run without a shell, found on \`PATH\`), or with \`shell\` a script for \`/bin/sh -c\`. The command and its arguments together are at most ${n(L.MAX_COMMAND_BYTES)} UTF-8 bytes.`,
    },
    args: {
      type: `array of at most ${n(L.MAX_COMMAND_ARGS)} strings`,
      default: '`[]`',
      meaning: 'Arguments, beside a string `command` only (with an array `command`, put them in it).',
    },
    shell: { type: 'boolean', default: 'false', meaning: 'Run `command` as a script with `/bin/sh -c`.' },
    env: {
      type: `map of at most ${n(L.MAX_ENV_VARS)} variables: names \`[A-Za-z_][A-Za-z0-9_]*\` of at most ${n(L.MAX_ENV_KEY_LENGTH)} characters, values strings of at most ${n(L.MAX_ENV_VALUE_BYTES)} UTF-8 bytes`,
      default: '`{}`',
      meaning:
        'Added to the agent\'s minimal environment (`PATH`, `HOME`, `LANG`). muster\'s own variables win over it: `MUSTER_JOB_ID`, `MUSTER_TASK_INDEX`, `MUSTER_ARRAY_INDEX`, `MUSTER_ATTEMPT` (1 for the first attempt), `MUSTER_EPOCH`, `MUSTER_NODE`.',
    },
    workingDir: {
      type: `string of at most ${n(L.MAX_PATH_LENGTH)} characters`,
      default: 'the attempt\'s own `work/` folder on the node',
      meaning: 'An absolute path must exist on the node (else the attempt fails); a relative one is made inside the attempt\'s `work/` folder and may not leave it.',
    },
    timeLimit: {
      type: `[duration](#units) above 0, at most ${formatDuration(L.MAX_DURATION_MS)}`,
      default: 'none',
      meaning: 'Wall-clock limit of each attempt; past it the agent kills the attempt, which ends `timeout` (counted as a failure).',
    },
  },
};

const RESOURCES: Table = {
  title: 'Resources',
  intro: 'A task group\'s `resources`, a node\'s `capacity` and a queue\'s `limit`. Absent dimensions are 0 in a request or a capacity, unlimited in a limit.',
  fields: RESOURCE_FIELDS,
  docs: {
    cpu: { type: `[cpu](#units): millicores, at most ${n(L.MAX_QUANTITY)}`, default: '0', meaning: 'CPU.' },
    memory: {
      type: `[memory](#units): MiB, at most ${n(L.MAX_QUANTITY)}`,
      default: '0',
      meaning: 'Memory. Rounded to whole MiB: up in a request, down in a capacity and in a limit.',
    },
    gpu: { type: `count (a whole number ≥ 0, or a string of digits), at most ${n(L.MAX_QUANTITY)}`, default: '0', meaning: 'GPUs.' },
    extended: {
      type: `map of at most ${n(L.MAX_EXTENDED_RESOURCES)} names to counts; a name is lower-case letters, digits, \`.\`, \`_\`, \`-\` with an optional \`domain/\` prefix, and not \`cpu\`, \`memory\` or \`gpu\``,
      default: '`{}`',
      meaning: 'Any other countable resource (`infiniband: 1`, `example.com/fpga: 2`): a task fits a node only if the node has enough of each.',
    },
  },
};

const CONSTRAINTS: Table = {
  title: 'Constraints',
  intro: 'A job\'s `constraints`.',
  fields: CONSTRAINT_FIELDS,
  docs: {
    sites: { type: `array of at most ${n(L.MAX_SITES_PER_JOB)} site names`, default: 'any site', meaning: 'The job runs only in these sites.' },
    selectors: {
      type: `array of at most ${n(L.MAX_SELECTORS)} [selectors](#selectors)`,
      default: 'none',
      meaning: 'The job runs only on nodes whose labels match every selector.',
    },
  },
};

const SELECTORS: Table = {
  title: 'Selectors',
  intro:
    `A selector is a string (\`zone=a\`, \`zone!=a\`, \`disk in (ssd,nvme)\`, \`disk notin (hdd)\`, \`gpu\` for "has the key"; \`==\` is read as \`=\`) or an object with these fields. \`!=\` and \`notin\` also match nodes without the key. \`key\` and \`op\` are required.`,
  fields: SELECTOR_FIELDS,
  docs: {
    key: {
      type: `a label key: a name of letters, digits, \`-\`, \`_\`, \`.\` (at most ${n(L.MAX_NAME_LENGTH)} characters) with an optional DNS-subdomain \`prefix/\`; at most ${n(L.MAX_LABEL_KEY_LENGTH)} characters`,
      default: REQUIRED,
      meaning: 'The node label looked at.',
    },
    op: { type: `one of ${list(SELECTOR_OPS)}`, default: REQUIRED, meaning: 'How it is compared.' },
    values: {
      type: `array of 1 to ${n(L.MAX_SELECTOR_VALUES)} label values (letters, digits, \`-\`, \`_\`, \`.\`, at most ${n(L.MAX_LABEL_VALUE_LENGTH)} characters; may be empty)`,
      default: 'none',
      meaning: 'For `in` and `notin` (one or more), or `=` and `!=` (exactly one); none for `exists`. Give `values` or `value`, not both.',
    },
    value: { type: 'one label value', default: 'none', meaning: 'The same as `values` with one value.' },
  },
};

const DEPENDENCIES: Table = {
  title: 'Dependencies',
  intro:
    'Each element of a job\'s `dependencies`: a string `TYPE:JOB` (`afterok:j-42`) or an object with these fields. A dependency names a job by the id the server gave it, so it can only name a job submitted in an earlier request: a spec file cannot name another job of the same file (`examples/chain.sh` submits a chain step by step). A job whose dependency names no known job, or a job retired from the live state, fails at once; one whose dependency can no longer be met (`afterok` on a job that failed) fails when that is known.',
  fields: DEPENDENCY_FIELDS,
  docs: {
    type: {
      type: `one of ${list(DEPENDENCY_TYPES)}`,
      default: REQUIRED,
      meaning: '`afterok`: that job succeeded; `afterany`: it ended in any way; `afternotok`: it failed or was cancelled.',
    },
    job: {
      type: `a job id: \`[A-Za-z0-9][A-Za-z0-9_.:-]*\`, at most ${n(L.MAX_IDEMPOTENCY_KEY_LENGTH)} characters`,
      default: REQUIRED,
      meaning: 'The job waited for (not itself).',
    },
  },
};

const RETRIES: Table = {
  title: 'Retries',
  intro:
    'A job\'s `retries`. A task is tried again after an attempt ends `failed`, `timeout` or `lost` (not `killed`), while it has failed at most `max` times. A task that fails for good ends the other tasks of its element (pending ones are cancelled, running ones killed), and the job ends `failed` once all its tasks have ended.',
  fields: RETRY_FIELDS,
  docs: {
    max: { type: `integer in [0, ${n(L.MAX_RETRIES)}]`, default: '0', meaning: 'Retries of each task after its first attempt.' },
    backoff: {
      type: `[duration](#units), at most ${formatDuration(L.MAX_DURATION_MS)}`,
      default: `${formatDuration(DEFAULT_BACKOFF_MS)}`,
      meaning: `Wait before the first retry; it doubles for each further one, up to ${formatDuration(MAX_BACKOFF_MS)}.`,
    },
  },
};

const NODE: Table = {
  title: 'Node',
  intro:
    'A node document (`kind: Node`), and `node` in an agent\'s `register`. `muster agent` writes it from its flags and this machine\'s cpus and memory. `name`, `site` and `capacity` are required.',
  fields: NODE_FIELDS,
  docs: {
    kind: { type: 'string', default: '`Node` in a spec file', meaning: 'The document\'s kind; the node reader does not read it.' },
    name: { type: NAME, default: REQUIRED, meaning: 'Unique in the cluster; an agent token\'s `nodes` must match it.' },
    site: { type: NAME, default: REQUIRED, meaning: `One of the server's sites ([Sites](#sites); \`${DEFAULT_SITES.join(', ')}\` unless configured), else \`register\` is refused \`MUSTER_ERR_UNKNOWN_SITE\`.` },
    capacity: { type: '[resources](#resources)', default: REQUIRED, meaning: 'What tasks placed on it may hold in all; memory is rounded down to whole MiB.' },
    labels: {
      type: `map of at most ${n(L.MAX_LABELS)} label keys to label values (as in [selectors](#selectors); strings only: quote \`"true"\` and numbers in YAML)`,
      default: '`{}`',
      meaning: 'What job selectors match.',
    },
    state: { type: `one of ${list(NODE_STATES)}`, default: '`ready`', meaning: 'The state the node joins in when the server does not know it yet; only `ready` nodes take new work.' },
  },
};

const QUEUE: Table = {
  title: 'Queue',
  intro:
    'Each element of `queues` in the [config file](#config-file), or of a `muster queue apply` (`POST /v1/queues`): the only way to give a queue other than the defaults (a queue made by a job has them). A queue document (`kind: Queue`) is the same, checked by `muster validate`. `tenant` and `name` are required. Every apply (and the config file\'s list) is checked as a whole, with every problem at once: each spec as below, a parent not defined (`MUSTER_ERR_NOT_FOUND`), a child of another tenant than its parent, a guarantee under a parent that has none, siblings\' shares over 100 %, siblings\' amounts over their parent\'s guarantee. [Preemption](#preemption) says how the last three fields act.',
  fields: QUEUE_FIELDS,
  docs: {
    kind: { type: 'string', default: '`Queue` in a spec file', meaning: 'The document\'s kind; the queue reader does not read it.' },
    tenant: { type: NAME, default: REQUIRED, meaning: 'The tenant that owns the queue: only it submits into it.' },
    name: {
      type: `1 to ${MAX_QUEUE_DEPTH} names joined by \`/\``,
      default: REQUIRED,
      meaning: 'What jobs name in `queue`. Queues nest by name: `acme/ml` is the parent of `acme/ml/train`. A parent must be defined before its children or beside them (config file, one apply); a child has its parent\'s tenant.',
    },
    weight: {
      type: `number above 0, at most ${n(L.MAX_QUEUE_WEIGHT)}`,
      default: '1',
      meaning: 'Fair share among siblings: capacity is shared top-down through the tree, and at each level the sibling whose subtree holds the smallest dominant share of the cluster in proportion to its weight is served first (hierarchical dominant-resource fairness). A queue\'s own jobs beside its children count as one more child of weight 1.',
    },
    priority: {
      type: `integer in [${n(-L.MAX_PRIORITY)}, ${n(L.MAX_PRIORITY)}]`,
      default: '0',
      meaning: 'Siblings of a higher priority are served before any of a lower one.',
    },
    guaranteedShare: {
      type: 'number in [0, 1]',
      default: '0',
      meaning: 'The guarantee as a share of the parent\'s guarantee in every resource (at the top, of the cluster\'s capacity). Among siblings of one priority, one below its guarantee is served first, and it reclaims what it lent ([Preemption](#preemption)). The shares of siblings add up to at most 1. Not with `guarantee`.',
    },
    guarantee: {
      type: '[resources](#resources)',
      default: 'none',
      meaning: 'The guarantee in amounts, for the resources named. Children\'s amounts (and shares) fit in their parent\'s guarantee; under a parent whose guarantee is a share of the cluster, or at the top, they are scaled down in proportion, per resource, when the cluster has less.',
    },
    limit: {
      type: '[resources](#resources); absent dimensions unlimited',
      default: 'unlimited',
      meaning: 'The most the queue and all its children together may hold at once; a job that would pass it waits (why-pending `queue-limit`: `queue Q is at its limit`, or `its parent Q is at its limit`).',
    },
    borrow: {
      type: 'boolean',
      default: 'true',
      meaning: 'Whether the queue (with its children) may hold more than its guarantee while capacity is idle. `false`: never more than the guarantee in the resources it names (why-pending: `queue Q may not borrow beyond its guarantee`).',
    },
    borrowLimit: {
      type: '[resources](#resources); absent dimensions unlimited',
      default: 'unlimited',
      meaning: 'With `borrow`, the most it may hold beyond its guarantee (why-pending: `queue Q is over its borrowing limit`).',
    },
    gracePeriod: { type: `duration, at most ${formatDuration(L.MAX_GRACE_PERIOD_MS)}`, default: 'the agent\'s (10 s)', meaning: 'SIGTERM → SIGKILL grace for its preempted tasks whose job names none.' },
    disruptionBudget: { type: `integer in [0, ${n(L.MAX_DISRUPTION_BUDGET)}]`, default: 'no cap', meaning: 'The most of its tasks preempted in any minute.' },
    protectFor: { type: 'duration', default: '5m', meaning: 'How long a task of it, once preempted, may not be preempted again.' },
  },
};

const SITE: Table = {
  title: 'Site',
  intro:
    'A site document (`kind: Site`): checked by `muster validate`. A server takes its sites from the `sites` of its configuration, by name only.',
  fields: SITE_FIELDS,
  docs: {
    kind: { type: 'string', default: '`Site` in a spec file', meaning: 'The document\'s kind.' },
    name: { type: NAME, default: REQUIRED, meaning: 'The site.' },
    labels: { type: 'labels, as a node\'s', default: '`{}`', meaning: 'Read and checked, not used by the server.' },
  },
};

const CONFIG: Table = {
  title: 'Config file',
  intro:
    '`muster server --config FILE`: YAML, or JSON when the name ends in `.json`; a map of these keys (any other is refused, as is a bad value: the server does not start and prints every problem with its key). Command-line flags win over the file. Paths are relative to the file.',
  fields: CONFIG_KEYS,
  docs: {
    data: { type: 'path', default: `\`${DEFAULT_DATA_DIR}\` (in the working folder)`, meaning: 'The data folder: the embedded store\'s log and snapshots, `admin.token`. `--data`.' },
    host: { type: 'string', default: `\`${DEFAULT_HOST}\``, meaning: 'The address to listen on (`0.0.0.0` for every interface). `--host`.' },
    port: { type: 'integer in [0, 65535]', default: `${DEFAULT_PORT}`, meaning: '0: any free port (printed as `url:`). `--port`.' },
    tokens: {
      type: `path of a token file (YAML or JSON), or a list of [token entries](#config-tokens)`,
      default: '`DATA/admin.token`: one admin token, made on first start',
      meaning: 'Who may do what ([Auth](#auth)). Required with `etcd`. `--tokens`.',
    },
    tlsCert: { type: 'path (PEM)', default: 'no TLS', meaning: 'With `tlsKey`: serve `https://` and `wss://`. `--tls-cert`.' },
    tlsKey: { type: 'path (PEM)', default: 'no TLS', meaning: 'With `tlsCert`. `--tls-key`.' },
    workers: { type: 'integer ≥ 0', default: 'one per core beyond the first (at least 1)', meaning: 'Actor worker threads, over which the sites\' solvers are spread.' },
    sites: {
      type: 'non-empty list of site names (lower-case letters, digits, `-`; a map is read for its `name` only), each once',
      default: `\`[${DEFAULT_SITES.join(', ')}]\``,
      meaning: 'The sites this server runs; a node must name one of them to register ([Sites](#sites)).',
    },
    queues: { type: 'list of [queues](#queue)', default: 'none', meaning: 'Queues defined at start (each with its tenant); a queue that is already so is left alone.' },
    limits: {
      type: 'map of [limit](#limits) names to whole numbers ≥ 1',
      default: Object.entries(DEFAULT_LIMITS)
        .map(([k, v]) => `\`${k}\` ${n(v)}`)
        .join(', '),
      meaning: 'The gateway\'s limits; each is described in [Limits](#limits).',
    },
    snapshot: { type: '[snapshot](#config-snapshot)', default: `\`{ everyEvents: ${SNAPSHOT_EVERY_EVENTS}, everySeconds: ${SNAPSHOT_EVERY_SECONDS} }\``, meaning: 'When the state is snapshotted and the log compacted.' },
    liveness: { type: '[liveness](#config-liveness)', default: 'see the table', meaning: 'Heartbeats, node loss and the agents\' fence.' },
    retention: { type: '[retention](#config-retention)', default: 'see the table', meaning: 'When ended jobs leave the live state; how long idempotency keys last.' },
    etcd: { type: '[etcd](#config-etcd)', default: 'none: the embedded store in `data`', meaning: 'Replicas sharing a log in etcd ([Replicas](#replicas)).' },
    output: { type: '[output](#config-output)', default: 'see the table', meaning: 'How much of each ended attempt\'s output the server keeps once its agent ships it.' },
  },
};

const TOKENS: Table = {
  title: 'Config: tokens',
  intro: 'Each element of a token file (a YAML or JSON list) or of `tokens:` in the config file. `token`, `tenant` and `role` are required.',
  fields: TOKEN_ENTRY_KEYS,
  docs: {
    token: { type: `string of at least ${MIN_TOKEN_LENGTH} characters, no spaces`, default: REQUIRED, meaning: 'The bearer token.' },
    tenant: { type: 'a tenant name: lower-case letters, digits and `-`, at most 63 characters', default: REQUIRED, meaning: 'Whose jobs and queues it acts for.' },
    role: { type: `one of ${list(ROLES)}`, default: REQUIRED, meaning: '[Auth](#auth).' },
    nodes: {
      type: 'list of node names or globs (`*` matches any run of characters)',
      default: 'required for `agent`, refused for the other roles',
      meaning: 'The nodes an agent token may register.',
    },
  },
};

const SNAPSHOT: Table = {
  title: 'Config: snapshot',
  intro: '`snapshot:` in the config file.',
  fields: SNAPSHOT_KEYS,
  docs: {
    everyEvents: { type: 'integer ≥ 1', default: n(SNAPSHOT_EVERY_EVENTS), meaning: 'Snapshot after this many durable events.' },
    everySeconds: { type: 'integer ≥ 1', default: n(SNAPSHOT_EVERY_SECONDS), meaning: 'Snapshot after this many seconds in which anything happened.' },
  },
};

const LIVENESS_MEANING: Readonly<Record<string, string>> = {
  heartbeatMs: 'How often agents heartbeat (told to them at registration); ms.',
  suspectAfterMs: 'Silence after which a node is `suspect` (nothing new is placed on it); ms.',
  lostAfterMs: `Silence after which a node is \`lost\` and its attempts end \`lost\`; ms. With \`etcd\` and not given: ${n(HA_LOST_AFTER_MS)}.`,
  siteSilentFraction: 'A site is held as unreachable when more than this fraction of its nodes is silent at once (a fraction, not ms)…',
  siteMinNodes: '…and it has at least this many nodes (a count).',
  siteHoldMs: 'How long an unreachable site\'s silent nodes stay `suspect` before any is declared lost; ms.',
  siteLostPerSecond: 'After the hold, at most this many of its nodes are declared lost per second.',
  fenceMs: `An agent with no contact for this long kills its attempts; ms. Not given: \`lostAfterMs\` less 1 s (less a quarter of it when that is shorter, never less than ${MIN_FENCE_MARGIN_MS} ms).`,
};

const LIVENESS: Table = {
  title: 'Config: liveness',
  intro: `\`liveness:\` in the config file: positive numbers. Refused unless \`heartbeatMs\` < \`suspectAfterMs\` < \`lostAfterMs\`, \`fenceMs\` is at least ${MIN_FENCE_MARGIN_MS} ms shorter than \`lostAfterMs\` and at least twice \`heartbeatMs\`.`,
  fields: LIVENESS_KEYS,
  docs: Object.fromEntries(
    LIVENESS_KEYS.map((key) => [key, { type: 'number > 0', default: key === 'fenceMs' ? `${n(resolveLiveness({}).options.fenceMs)} (from \`lostAfterMs\`)` : n(DEFAULT_LIVENESS[key]), meaning: LIVENESS_MEANING[key] ?? '' }]),
  ),
};

const RETENTION: Table = {
  title: 'Config: retention',
  intro: '`retention:` in the config file ([Retention](#retention) says what each does).',
  fields: RETENTION_KEYS,
  docs: {
    maxAge: { type: '[duration](#units) above 0', default: formatDuration(DEFAULT_RETENTION.maxAgeMs), meaning: 'An ended job leaves the live state this long after it ended.' },
    maxEndedPerTenant: { type: 'integer ≥ 0', default: n(DEFAULT_RETENTION.maxEndedPerTenant), meaning: 'Most ended jobs of one tenant kept in the live state.' },
    keyWindow: { type: '[duration](#units) above 0', default: formatDuration(DEFAULT_RETENTION.keyWindowMs), meaning: 'How long an idempotency key names its job, from its submission.' },
  },
};

const OUTPUT: Table = {
  title: 'Config: output',
  intro: '`output:` in the config file: the copy of ended attempts\' output that outlives their agent (`DATA/output`, removed when the job is retired).',
  fields: OUTPUT_KEYS,
  docs: {
    keepBytes: { type: `integer from 0 to ${n(MAX_OUTPUT_KEEP_BYTES)}`, default: n(DEFAULT_OUTPUT_KEEP_BYTES), meaning: 'The tail of each stream (stdout, stderr) kept per attempt, in bytes; 0 keeps nothing.' },
  },
};

const ETCD: Table = {
  title: 'Config: etcd',
  intro: '`etcd:` in the config file (or `--etcd URL[,URL…]`, `--etcd-prefix`, `--lease-ttl`). `endpoints` is required to use the others.',
  fields: ETCD_KEYS,
  docs: {
    endpoints: { type: 'list of `http://host:port` or `https://host:port` (all of one scheme)', default: REQUIRED, meaning: 'The etcd cluster\'s members.' },
    prefix: { type: 'string starting with `/`, not ending with `/`', default: `\`${DEFAULT_ETCD_PREFIX}\``, meaning: 'Every key muster writes is under it.' },
    leaseTtlSeconds: { type: 'integer ≥ 1', default: String(DEFAULT_LEASE_TTL_SECONDS), meaning: 'The election lease: a dead leader is replaced within about this.' },
    tls: {
      type: `map of ${list(ETCD_TLS_KEYS)} (paths, PEM); \`caFile\` required; \`certFile\` and \`keyFile\` together or neither`,
      default: 'none (required with `https://`, refused with `http://`)',
      meaning: 'The CA of etcd\'s certificate, and this replica\'s certificate and key for client-certificate auth.',
    },
  },
};

const UNITS = `### Units

| what | written | muster's unit | bounds |
|---|---|---|---|
| cpu | \`500m\` (millicores), \`2\`, \`1.5\` (cores, at most 3 decimals), or a number of cores | millicores | at most ${n(L.MAX_QUANTITY)} |
| memory | \`512Mi\`, \`4Gi\`, \`1Ti\`, \`2048Ki\`, \`1G\`, \`100M\`, \`1.5Gi\` (suffixes \`Ki Mi Gi Ti Pi\`: powers of 1024; \`k K M G T P\`: powers of 1000); a bare number is MiB | MiB | at most ${n(L.MAX_QUANTITY)} MiB |
| gpu, extended | a whole number ≥ 0, or a string of digits | count | at most ${n(L.MAX_QUANTITY)} |
| duration | \`500ms\`, \`30s\`, \`5m\`, \`1h30m\`, \`2d\` (parts \`ms s m h d\`, in any combination); a bare number is seconds | ms | at most ${formatDuration(L.MAX_DURATION_MS)} |

Views and \`start\` frames give them back in muster's units (\`timeLimitMs\`, \`backoffMs\`).`;

const OWNERSHIP = `### Queues and tenants

- A queue belongs to one tenant, from the moment it exists: a queue in the config file's \`queues\` belongs
  to the tenant its spec names; any other queue is made by the first job that names it, for that job's tenant,
  with the defaults of the [queue table](#queue) (weight 1, priority 0, no limit).
- Queue names are one namespace for the whole server: two tenants cannot both have a queue \`batch\`. Only a
  queue's tenant submits into it; a job into another tenant's queue is refused \`MUSTER_ERR_FORBIDDEN\` (its
  per-job result; the batch's other jobs are not affected). This holds for \`default\`, the queue \`muster
  submit\` uses without \`--queue\`: the first tenant to submit into it owns it.
- A tenant has at most ${n(MAX_QUEUES_PER_TENANT)} queues: a job that would make its next one is refused
  \`MUSTER_ERR_LIMIT_EXCEEDED\`; its existing queues still take jobs.
- A job belongs to the tenant it was submitted for: the token's tenant, or for an admin the \`tenant\` of the
  request (the token's own tenant when absent).
- A \`submitter\` sees and acts on its own tenant only: \`GET /v1/queues\` lists its tenant's queues, \`GET
  /v1/jobs\` its tenant's jobs (naming another tenant is \`403\`), one job, its why-pending and its logs only
  when its tenant's (else \`403 MUSTER_ERR_FORBIDDEN\`), \`watch\` streams its tenant's events, \`cancel\`
  ends its tenant's jobs. It reads every node, site and the leader. \`admin\` and \`viewer\` see every tenant;
  only \`admin\` acts on other tenants' jobs ([Auth](#auth)).
- When the config file gives a queue a tenant, that tenant owns it from that start on, even if another
  tenant's jobs made it before.`;

const SITES = `### Sites

A server runs the sites named by \`sites\` in its [config file](#config-file); a server started without
\`sites\` (no config file, as \`npm start\` does) runs one site, \`${DEFAULT_SITES.join('`, `')}\`. A node
registers in one of them (\`site\` of its [node spec](#node)); any other site is refused
\`MUSTER_ERR_UNKNOWN_SITE\`. \`muster agent\` and \`muster sim\` register in \`local\` unless given \`--site\`
or \`--sites\`, and \`muster start\`'s own agent always does, so they work with a bare server as they are;
with \`sites: [a, b]\` every agent must name \`--site a\` or \`--site b\` (\`local\` is then refused unless listed).`;

/**
 * A complete config file: every key of the config file, each with a value that differs from nothing in
 * particular. test/scripts/spec-reference.test.ts reads it with the server's own reader.
 */
export const EXAMPLE_CONFIG = `data: /var/lib/muster              # the data folder (paths are relative to this file)
host: 0.0.0.0                      # listen on every interface
port: 7070
tokens: tokens.yaml                # or inline: [{ token: ..., tenant: acme, role: submitter }]
tlsCert: tls/cert.pem              # https:// and wss://
tlsKey: tls/key.pem
workers: 2                         # actor worker threads for the sites' solvers
sites: [eu-1, eu-2]                # agents must use --site eu-1 or --site eu-2
queues:
  - { tenant: acme, name: batch, weight: 2 }
  - { tenant: acme, name: acme, guaranteedShare: 0.5 }
  - { tenant: acme, name: acme/interactive, priority: 10, limit: { cpu: "64", memory: 256Gi } }
  - { tenant: ml, name: training, limit: { gpu: 16 } }
limits: { maxJobsPerSubmit: 10000, ratePerSecond: 500, rateBurst: 1000 }
snapshot: { everyEvents: 100000, everySeconds: 300 }
liveness: { heartbeatMs: 1000, suspectAfterMs: 5000, lostAfterMs: 15000 }
retention: { maxAge: 2h, maxEndedPerTenant: 50000, keyWindow: 24h }
output: { keepBytes: 1048576 }     # the tail of each stream of each ended attempt, kept by the server
etcd:                              # leave out for the embedded store in data
  endpoints: [https://etcd-1:2379, https://etcd-2:2379, https://etcd-3:2379]
  prefix: /muster
  leaseTtlSeconds: 2
  tls: { caFile: etcd/ca.pem, certFile: etcd/client.pem, keyFile: etcd/client-key.pem }
`;

const EXAMPLE = `A complete config file, with every key:

\`\`\`yaml
${EXAMPLE_CONFIG}\`\`\``;

function renderTable(t: Table): string {
  const accepted = new Set(t.fields);
  const described = Object.keys(t.docs);
  const missing = t.fields.filter((f) => !(f in t.docs));
  const extra = described.filter((f) => !accepted.has(f));
  if (missing.length > 0) throw new Error(`spec reference, ${t.title}: the code accepts ${missing.join(', ')}, which scripts/spec-reference.ts does not describe`);
  if (extra.length > 0) throw new Error(`spec reference, ${t.title}: scripts/spec-reference.ts describes ${extra.join(', ')}, which the code does not accept`);
  const rows = t.fields.map((f) => {
    const d = t.docs[f]!;
    return `| \`${f}\` | ${d.type} | ${d.default} | ${d.meaning} |`;
  });
  return [`### ${t.title}`, '', t.intro, '', '| field | type and bounds | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** Every table whose fields come from a list the code accepts, in the order they are rendered. */
export const TABLES: readonly Table[] = [JOB, TASK, RESOURCES, CONSTRAINTS, SELECTORS, DEPENDENCIES, RETRIES, NODE, QUEUE, SITE, CONFIG, TOKENS, SNAPSHOT, LIVENESS, RETENTION, OUTPUT, ETCD];

/** The block between the markers (markers excluded). */
export function renderSpecReference(): string {
  const specs = [JOB, TASK, RESOURCES, CONSTRAINTS, SELECTORS, DEPENDENCIES, RETRIES, NODE, QUEUE, SITE].map(renderTable);
  const config = [CONFIG, TOKENS, SNAPSHOT, LIVENESS, RETENTION, OUTPUT, ETCD].map(renderTable);
  return [UNITS, ...specs, OWNERSHIP, SITES, config[0], EXAMPLE, ...config.slice(1)].join('\n\n');
}

/** `text` (PROTOCOL.md) with the block between its markers replaced by `block`. */
export function withReference(text: string, block: string): string {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`PROTOCOL.md has no ${BEGIN} … ${END} block`);
  return `${text.slice(0, begin + BEGIN.length)}\n\n${block}\n\n${text.slice(end)}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = readFileSync(PROTOCOL, 'utf8');
  const next = withReference(text, renderSpecReference());
  if (process.argv.includes('--check')) {
    if (next !== text) {
      process.stderr.write('PROTOCOL.md: the spec reference is out of date; run: node --import=tsx scripts/spec-reference.ts\n');
      process.exit(1);
    }
  } else if (next !== text) {
    writeFileSync(PROTOCOL, next);
    process.stdout.write('PROTOCOL.md: spec reference rewritten\n');
  }
}
