/**
 * `muster`: the command line. This file is the registry of subcommands and the dispatcher, nothing more.
 *
 * Each entry names a command, says it in one line for `muster --help`, and loads its module only when that
 * command runs: a command pays for its own module graph and no other (`muster jobs` does not load the
 * server, the agent, the simulator or replay), which keeps one command within the CLI's budget of 300 ms
 * (DESIGN.md §9; `npm run bench -- cli`). So this file imports nothing but types and io.ts; a test checks
 * that each entry's name and summary are the ones its module declares.
 */
import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_USAGE, processIo } from './io.js';

/** One subcommand as the registry knows it before loading it. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `muster --help` (the same as the module's `Command.summary`). */
  readonly summary: string;
  load(): Promise<Command>;
}

/** Every subcommand, in the order `muster --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'start', summary: 'run the control plane and one local agent (what npm start runs)', load: async () => (await import('./start.js')).startCommand },
  { name: 'server', summary: 'run the control plane: recover state, schedule, serve the WebSocket and HTTP APIs', load: async () => (await import('./server.js')).serverCommand },
  { name: 'agent', summary: 'run this machine as a node: register, heartbeat, run tasks as real processes', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'submit', summary: 'submit a job from flags and a command, or jobs from spec files', load: async () => (await import('./submit.js')).submitCommand },
  { name: 'jobs', summary: 'list jobs: status, exit code, elapsed time, reason (filters by state, queue, name, time; paged)', load: async () => (await import('./jobs.js')).jobsCommand },
  { name: 'job', summary: 'show one job, its tasks and every attempt of each', load: async () => (await import('./job.js')).jobCommand },
  { name: 'why', summary: 'say why a job is pending (per site and reason) and what would let it run', load: async () => (await import('./why.js')).whyCommand },
  { name: 'logs', summary: "print a task's output (stdout or stderr), optionally following it", load: async () => (await import('./logs.js')).logsCommand },
  { name: 'cancel', summary: 'cancel jobs', load: async () => (await import('./cancel.js')).cancelCommand },
  { name: 'hold', summary: 'hold jobs: their pending tasks are not placed until released', load: async () => (await import('./hold.js')).holdCommand },
  { name: 'release', summary: 'release held jobs: their pending tasks may be placed again', load: async () => (await import('./release.js')).releaseCommand },
  { name: 'requeue', summary: "requeue running jobs: their tasks are killed and wait again, no retry spent", load: async () => (await import('./requeue.js')).requeueCommand },
  { name: 'watch', summary: 'stream job events (submitted, placed, started, task-ended, ended) as they happen', load: async () => (await import('./watch.js')).watchCommand },
  { name: 'queues', summary: 'list queues: weight, priority, guarantee, borrowing, limit, active and pending jobs, usage', load: async () => (await import('./queues.js')).queuesCommand },
  { name: 'queue', summary: 'admin: define or update queues from spec files (weight, priority, limit, ...), or delete queues', load: async () => (await import('./queue.js')).queueCommand },
  { name: 'nodes', summary: 'list nodes: site, state, allocated/capacity, labels', load: async () => (await import('./nodes.js')).nodesCommand },
  { name: 'node', summary: 'admin: drain a node (no new work) or undrain it', load: async () => (await import('./node.js')).nodeCommand },
  { name: 'sites', summary: 'list sites: nodes, ready nodes, allocated/capacity', load: async () => (await import('./sites.js')).sitesCommand },
  { name: 'leader', summary: 'which replica leads: the leader, its epoch, and the role of each replica', load: async () => (await import('./leader.js')).leaderCommand },
  { name: 'replay', summary: "rebuild a data folder's event history and report it; with changed policy, compare a what-if run", load: async () => (await import('./replay.js')).replayCommand },
  { name: 'sim', summary: 'run a fleet of simulated agents against a server (scale tests, benchmarks)', load: async () => (await import('./sim.js')).simCommand },
  { name: 'validate', summary: 'check spec files (jobs, queues, nodes, sites; JSON or YAML) and print every problem', load: async () => (await import('./validate.js')).validateCommand },
];

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'muster: the control plane of a multi-site batch platform',
    '',
    'usage: muster COMMAND [ARGS...]',
    '       muster --help | --version',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "muster COMMAND --help" for the arguments of one command.',
  ].join('\n');
}

export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.out(help());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '--version' || first === '-v') {
    io.out(version());
    return EXIT_OK;
  }
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) {
    io.err(`muster: MUSTER_ERR_USAGE: unknown command ${JSON.stringify(first)}`);
    io.err(help());
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT_OK;
  }
  return command.run(rest, io);
}
