import type { Command } from './command.js';
import type { Connection, OutputFormat, ParsedCommandLine } from './connection.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, outputFormat, parseCommandLine, printJson, resolveConnection, runCommand, UsageError, withClient } from './connection.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { formatProblem, validateJob } from '../model/index.js';
import type { Problem } from '../model/index.js';
import type { JobSpecInput, SubmitResult } from '../client/index.js';
import { checkedDocuments, documentKind } from './spec-files.js';
import { EXIT_CANCELLED, EXIT_LOST, endLine, exitStatusOf, exitStatusOfAll, followJobs } from './wait.js';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  file: { type: 'string', short: 'f', multiple: true },
  tenant: { type: 'string' },
  'hold-unsatisfiable': { type: 'boolean' },
  queue: { type: 'string', short: 'q' },
  name: { type: 'string' },
  cpu: { type: 'string' },
  memory: { type: 'string' },
  gpu: { type: 'string' },
  count: { type: 'string' },
  'time-limit': { type: 'string' },
  retries: { type: 'string' },
  'retry-backoff': { type: 'string' },
  array: { type: 'string' },
  priority: { type: 'string' },
  gang: { type: 'boolean' },
  'distinct-nodes': { type: 'boolean' },
  strategy: { type: 'string' },
  site: { type: 'string', multiple: true },
  selector: { type: 'string', multiple: true },
  after: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  workdir: { type: 'string' },
  shell: { type: 'boolean' },
  'idempotency-key': { type: 'string' },
  wait: { type: 'boolean', short: 'W' },
} as const;

type Values = ParsedCommandLine<typeof OPTIONS>['values'];

/** Flags that build a job (everything but -f, --tenant, --wait, --hold-unsatisfiable and the connection flags). */
const JOB_FLAGS = Object.keys(OPTIONS).filter((k) => !(k in CONNECTION_OPTIONS) && k !== 'file' && k !== 'tenant' && k !== 'wait' && k !== 'hold-unsatisfiable') as (keyof Values)[];

/** Defaults of a job built from flags: one core and 512 MiB, as a small interactive task needs. */
const DEFAULT_QUEUE = 'default';
const DEFAULT_CPU = '1';
const DEFAULT_MEMORY = '512Mi';

/** The flag that wrote each spec field, to name it when the field is wrong (first match wins). */
const FLAG_OF_FIELD: readonly (readonly [RegExp, string])[] = [
  [/^name\b/, '--name'],
  [/^queue\b/, '--queue'],
  [/^priority\b/, '--priority'],
  [/^array\b/, '--array'],
  [/^strategy\b/, '--strategy'],
  [/^idempotencyKey\b/, '--idempotency-key'],
  [/^tasks\[0\]\.count\b/, '--count'],
  [/^tasks\[0\]\.resources\.cpu\b/, '--cpu'],
  [/^tasks\[0\]\.resources\.memory\b/, '--memory'],
  [/^tasks\[0\]\.resources\.gpu\b/, '--gpu'],
  [/^tasks\[0\]\.env\b/, '--env'],
  [/^tasks\[0\]\.workingDir\b/, '--workdir'],
  [/^tasks\[0\]\.timeLimit\b/, '--time-limit'],
  [/^constraints\.sites\b/, '--site'],
  [/^constraints\.selectors\b/, '--selector'],
  [/^dependencies\b/, '--after'],
  [/^retries\.max\b/, '--retries'],
  [/^retries\.backoff\b/, '--retry-backoff'],
  [/^tasks/, 'COMMAND'],
];

function flagOf(problem: Problem): string {
  return FLAG_OF_FIELD.find(([re]) => re.test(problem.path))?.[1] ?? (problem.path || 'the job');
}

function integer(values: Values, flag: 'count' | 'retries' | 'array' | 'priority'): number | undefined {
  const text = values[flag];
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not an integer`);
  return Number(text);
}

function envVars(list: readonly string[] | undefined): Record<string, string> | undefined {
  if (!list) return undefined;
  const env: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env: ${JSON.stringify(item)} is not NAME=VALUE`);
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

/** The written job spec the flags describe (validated by the caller, like a spec file). */
export function jobFromFlags(values: Values, command: readonly string[]): Record<string, unknown> {
  if (command.length === 0) throw new UsageError('give the command after --, e.g. muster submit --cpu 2 -- ./run.sh input, or spec files with -f');
  const env = envVars(values.env);
  const count = integer(values, 'count');
  const retries = integer(values, 'retries');
  const array = integer(values, 'array');
  const priority = integer(values, 'priority');
  const shell = values.shell === true;
  const task = {
    resources: { cpu: values.cpu ?? DEFAULT_CPU, memory: values.memory ?? DEFAULT_MEMORY, ...(values.gpu !== undefined ? { gpu: values.gpu } : {}) },
    ...(count !== undefined ? { count } : {}),
    // With --shell the words are one script for /bin/sh -c.
    ...(shell ? { command: command.join(' '), shell: true } : { command: command[0], args: command.slice(1) }),
    ...(env ? { env } : {}),
    ...(values.workdir !== undefined ? { workingDir: values.workdir } : {}),
    ...(values['time-limit'] !== undefined ? { timeLimit: values['time-limit'] } : {}),
  };
  const constraints = {
    ...(values.site ? { sites: values.site } : {}),
    ...(values.selector ? { selectors: values.selector } : {}),
  };
  if (values['retry-backoff'] !== undefined && retries === undefined) throw new UsageError('--retry-backoff needs --retries');
  return {
    queue: values.queue ?? DEFAULT_QUEUE,
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(priority !== undefined ? { priority } : {}),
    tasks: [task],
    ...(Object.keys(constraints).length > 0 ? { constraints } : {}),
    ...(values.strategy !== undefined ? { strategy: values.strategy } : {}),
    ...(values['distinct-nodes'] ? { distinctNodes: true } : {}),
    ...(values.gang ? { gang: true } : {}),
    ...(array !== undefined ? { array } : {}),
    ...(values.after ? { dependencies: values.after } : {}),
    ...(retries !== undefined ? { retries: { max: retries, ...(values['retry-backoff'] !== undefined ? { backoff: values['retry-backoff'] } : {}) } } : {}),
    ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
  };
}

interface Submission {
  /** Where each job came from: `file`, `file#N`, or `flags`. */
  readonly sources: string[];
  readonly jobs: JobSpecInput[];
}

/** The jobs in the spec files, each checked as `muster validate` would; any problem stops before sending. */
async function jobsFromFiles(files: readonly string[], io: Io): Promise<Submission | undefined> {
  const docs = await checkedDocuments(files, (line) => io.err(line), (doc) => {
    const kind = documentKind(doc);
    if (kind !== undefined && kind !== 'Job') return [`MUSTER_ERR_INVALID_VALUE: a ${String(kind)} is not a job; only jobs are submitted`];
    const result = validateJob(doc.value);
    return result.ok ? [] : result.problems.map((problem) => formatProblem(problem));
  });
  if (docs === undefined) return undefined;
  return { sources: docs.map((doc) => doc.where), jobs: docs.map((doc) => doc.value as JobSpecInput) };
}

function printResults(io: Io, format: OutputFormat, submission: Submission, results: readonly SubmitResult[]): void {
  if (format === 'json') {
    printJson(io, { results: results.map((r, i) => ({ source: submission.sources[i], ...r })) });
    return;
  }
  results.forEach((r, i) => {
    const source = submission.sources[i] ?? '';
    if (r.ok) {
      const notes = [...(source === 'flags' ? [] : [source]), ...(r.existing ? ['already submitted with this idempotency key'] : [])];
      io.out(`submitted ${r.job}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
    } else {
      io.err(`${source}: ${r.code}: ${r.message}`);
      for (const p of r.problems ?? []) io.err(`  ${p.path}: ${p.code}: ${p.message}`);
    }
  });
}

async function submit(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(args, OPTIONS, true);
  const format = outputFormat(values.output);
  const connection: Connection = resolveConnection(values);
  let submission: Submission | undefined;
  if (values.file) {
    const mixed = JOB_FLAGS.find((flag) => values[flag] !== undefined);
    if (mixed !== undefined) throw new UsageError(`-f cannot be combined with --${String(mixed)}: write it in the spec file`);
    if (positionals.length > 0) throw new UsageError('-f cannot be combined with a command: write it in the spec file');
    submission = await jobsFromFiles(values.file, io);
    if (!submission) return EXIT_PROBLEM;
  } else {
    const job = jobFromFlags(values, positionals);
    const checked = validateJob(job);
    if (!checked.ok) {
      for (const problem of checked.problems) io.err(`muster submit: MUSTER_ERR_USAGE: ${flagOf(problem)}: ${problem.message} (${problem.code} at ${problem.path || '(root)'})`);
      return EXIT_USAGE;
    }
    submission = { sources: ['flags'], jobs: [job] };
  }
  const tenant = values.tenant;
  const jobs = submission.jobs;
  const options = { ...(tenant !== undefined ? { tenant } : {}), ...(values['hold-unsatisfiable'] === true ? { holdUnsatisfiable: true } : {}) };
  return withClient(connection, async (client) => {
    const results = await client.submit(jobs, options);
    const accepted = results.every((r) => r.ok);
    if (!values.wait || !accepted) {
      printResults(io, format, submission, results);
      return accepted ? EXIT_OK : EXIT_PROBLEM;
    }
    if (format !== 'json') printResults(io, format, submission, results);
    const ended = await followJobs(client, results.map((r) => (r as { job: string }).job), io, format !== 'json');
    if (format === 'json') printJson(io, { results: results.map((r, i) => ({ source: submission.sources[i], ...r, status: ended[i]?.status, ...(ended[i] !== undefined ? { exitStatus: exitStatusOf(ended[i]) } : {}) })) });
    else for (const job of ended) io.out(endLine(job));
    return exitStatusOfAll(ended);
  });
}

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit a job from flags and a command, or jobs from spec files',
  usage: `usage: muster submit [FLAGS] -- COMMAND [ARGS...]
       muster submit -f FILE [-f FILE...]

Submits one job built from the flags, or every job in the spec files (checked first, as muster validate
does: nothing is sent if any is invalid). Prints "submitted ID" per job; exits 0 when every job was
accepted, 1 when any was refused or the server could not be reached, 2 on a wrong command line.

With --wait, follows the jobs until they end (a line per event; on a terminal one line redrawn in place),
prints how each ended and exits as the job did: 0 when every job succeeded; the exit code of the first
failing task (or 1 for a failure without one: a time limit, a signal, a task that could not start);
${EXIT_LOST} when that task was lost with its node; ${EXIT_CANCELLED} when the job was cancelled. With several jobs, the
status of the first one that did not succeed. -o json prints the results once all have ended, each with
its status and exitStatus.

job:
  -q, --queue QUEUE        the queue (default ${DEFAULT_QUEUE})
  --name NAME              a name for the job
  --cpu CPU                cpu per task: cores or millicores, e.g. 2, 1.5, 500m (default ${DEFAULT_CPU})
  --memory MEMORY          memory per task, e.g. 512Mi, 4Gi (default ${DEFAULT_MEMORY})
  --gpu N                  gpus per task
  --count N                tasks in the job (default 1)
  --time-limit DURATION    wall-clock limit per task attempt, e.g. 30s, 1h30m
  --retries N              retries after a failed attempt (default 0)
  --retry-backoff DURATION delay before the first retry (doubles each time)
  --array N                run N indexed copies (each sees MUSTER_ARRAY_INDEX)
  --priority N             priority within the queue (default 0)
  --gang                   all tasks start together, or none
  --distinct-nodes         no two tasks on one node
  --strategy binpack|spread
  --site SITE              may run only in this site (repeat for several)
  --selector SELECTOR      node label selector, e.g. disk=ssd, "gpu in (a100,h100)" (repeatable)
  --after TYPE:JOB         dependency: afterok:ID, afterany:ID or afternotok:ID (repeatable)
  --env NAME=VALUE         environment variable (repeatable)
  --workdir DIR            working directory
  --shell                  run the command words as one /bin/sh -c script
  --idempotency-key KEY    resubmitting with the same key returns the first job instead of a new one
  -f, --file FILE          submit the jobs in FILE instead (JSON or YAML; repeatable)
  --tenant TENANT          admin only: submit on behalf of this tenant
  -W, --wait               wait for the jobs to end; exit with their status (see above)
  --hold-unsatisfiable     keep a job no node of the cluster could ever run (pending; muster why says
                           why) instead of having it refused with MUSTER_ERR_UNSATISFIABLE

${CONNECTION_USAGE}`,

  run(args, io) {
    return runCommand('submit', io, () => submit(args, io));
  },
};
