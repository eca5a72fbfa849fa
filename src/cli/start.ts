/**
 * `muster start` (what `npm start` runs): the control plane with its embedded store plus one local agent
 * for this machine, in one process, so a newcomer can submit a job and see it run. The server is
 * `muster server`'s; the agent is `muster agent`'s, registered as this host in site `local` with the
 * admin token, working in DATA/agent.
 *
 * Environment: MUSTER_PORT (default 7070) and MUSTER_DATA (default ./.muster), read as the client commands
 * read them (local-server.ts), so a shell with the same variables finds this server. Prints `url: …`,
 * `token: …` and `export MUSTER_SERVER=… MUSTER_TOKEN=…` (for a shell elsewhere) on lines of their own,
 * then `ready: …` once the agent is registered.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, agentUrls } from '../agent/index.js';
import { codeOf } from '../errors/index.js';
import { createLogger, setLogFormat } from '../log/index.js';
import type { RunningServer } from '../server/index.js';
import { STORE_FAILED_EXIT_CODE, resolveConfig, startServer } from '../server/index.js';
import type { Command } from './command.js';
import { EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { localServer } from './local-server.js';
import { chooseLogFormat, LOG_FORMAT_USAGE } from './log-format.js';
import { exitAfterStoreFailure, stopServer } from './server.js';
import { terminated } from './signals.js';

const USAGE = `usage: muster start [--log-format human|json]

Runs the control plane with its embedded store on 127.0.0.1 plus one local agent that runs jobs as real
processes on this machine. Then, in another shell:  npx muster submit -- echo hello

Environment: MUSTER_PORT (default 7070), MUSTER_DATA (default ./.muster). The other commands read the
same variables, so a shell where they are set the same way finds this server and its admin token; for a
shell elsewhere, paste the "export MUSTER_SERVER=... MUSTER_TOKEN=..." line it prints.
Stops cleanly on SIGTERM or SIGINT (Ctrl-C). Exits with 74 if the store fails (as muster server does).

${LOG_FORMAT_USAGE}`;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the control plane and one local agent (what npm start runs)',
  usage: USAGE,

  async run(args, io) {
    let flag: string | undefined;
    try {
      flag = parseArgs({ args: [...args], strict: true, allowPositionals: false, options: { 'log-format': { type: 'string' } } }).values['log-format'];
    } catch (err) {
      io.err(`muster start: MUSTER_ERR_USAGE: ${(err as Error).message} (the only flag is --log-format; configure the rest with MUSTER_PORT and MUSTER_DATA)`);
      return EXIT_USAGE;
    }
    const logFormat = chooseLogFormat(flag);
    if (logFormat !== 'human' && logFormat !== 'json') {
      io.err(`muster start: MUSTER_ERR_USAGE: ${logFormat}`);
      return EXIT_USAGE;
    }
    setLogFormat(logFormat);
    let port: number;
    let data: string;
    try {
      ({ port, data } = localServer());
    } catch (err) {
      io.err(`muster start: MUSTER_ERR_USAGE: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
    const stop = terminated();
    let server: RunningServer;
    let agent: Agent;
    try {
      let token: string | undefined;
      server = await startServer(await resolveConfig({ data, port }), {
        listening: (url, admin) => {
          token = admin;
          io.out(`url: ${url}`);
          if (admin !== undefined) io.out(`token: ${admin}`);
          if (admin !== undefined) io.out(`export MUSTER_SERVER=${url} MUSTER_TOKEN=${admin}`);
        },
      });
      if (token === undefined) throw new Error('the local agent needs the admin token of the data folder');
      agent = new Agent({ endpoints: agentUrls(server.url), token, name: hostname(), site: 'local', workDir: join(data, 'agent'), log: createLogger({ name: 'agent' }) });
      await agent.start();
      io.out(`ready: node ${hostname()} runs jobs here; try: npx muster submit -- echo hello`);
    } catch (err) {
      io.err(`muster start: ${codeOf(err) ?? 'MUSTER_ERR_INTERNAL'}: ${(err as Error).message}`);
      return codeOf(err) === 'MUSTER_ERR_STORE_FAILED' ? STORE_FAILED_EXIT_CODE : EXIT_PROBLEM;
    }
    const end = await server.until(stop);
    if (end.kind === 'store-failed') return exitAfterStoreFailure('muster start', server, end.failure, io, () => agent.stop());
    io.err(`muster start: ${end.signal}: stopping`);
    await agent.stop();
    return stopServer('muster start', server, io);
  },
};
