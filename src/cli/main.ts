/**
 * `muster`: the command line. Each subcommand is a `Command` in its own file; this file only dispatches.
 * Commands arrive with the capabilities they drive; there are no placeholders.
 */
import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_USAGE, processIo } from './io.js';
import { cancelCommand } from './cancel.js';
import { jobCommand } from './job.js';
import { jobsCommand } from './jobs.js';
import { leaderCommand } from './leader.js';
import { logsCommand } from './logs.js';
import { nodesCommand } from './nodes.js';
import { nodeCommand } from './node.js';
import { queueCommand } from './queue.js';
import { holdCommand } from './hold.js';
import { releaseCommand } from './release.js';
import { requeueCommand } from './requeue.js';
import { queuesCommand } from './queues.js';
import { replayCommand } from './replay.js';
import { sitesCommand } from './sites.js';
import { submitCommand } from './submit.js';
import { watchCommand } from './watch.js';
import { whyCommand } from './why.js';
import { agentCommand } from './agent.js';
import { serverCommand } from './server.js';
import { startCommand } from './start.js';
import { simCommand } from './sim.js';
import { validateCommand } from './validate.js';

const COMMANDS: readonly Command[] = [
  startCommand,
  serverCommand,
  agentCommand,
  submitCommand,
  jobsCommand,
  jobCommand,
  whyCommand,
  logsCommand,
  cancelCommand,
  holdCommand,
  releaseCommand,
  requeueCommand,
  watchCommand,
  queuesCommand,
  queueCommand,
  nodesCommand,
  nodeCommand,
  sitesCommand,
  leaderCommand,
  replayCommand,
  simCommand,
  validateCommand,
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
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    io.err(`muster: MUSTER_ERR_USAGE: unknown command ${JSON.stringify(first)}`);
    io.err(help());
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT_OK;
  }
  return command.run(rest, io);
}
