/**
 * `muster sim`: a fleet of simulated agents (src/agent/sim-fleet.ts) against a running server, for scale
 * tests and benchmarks. Runs until SIGTERM or SIGINT, printing the fleet's counts every few seconds.
 */
import { agentUrls, SimFleet } from '../agent/index.js';
import { createLogger } from '../log/index.js';
import type { Command } from './command.js';
import { CONNECTION_OPTIONS, parseCommandLine, resolveConnection, runCommand, UsageError } from './connection.js';
import type { Io } from './io.js';
import { EXIT_OK } from './io.js';
import { terminated } from './signals.js';

const USAGE = `usage: muster sim [--nodes N] [--sites A,B,...] [--connections K] [--cpu CPU] [--memory MEM]
                  [--heartbeat MS] [--prefix NAME] [--server URL[,URL...]] [--token TOKEN]

Connects N simulated agents (default 100) spread round robin over the sites (default: local) and
multiplexed over K WebSocket connections (default 4). They register, heartbeat and "run" the tasks
they are given for their requested duration: MUSTER_SIM_DURATION in the task's env, else N seconds
of a "sleep N" command, else no time; MUSTER_SIM_EXIT=N makes an attempt exit with N. Like real agents
they keep trying while no server answers, follow the leader among the replicas given (a standby names
it), keep ends until the server acknowledges them, and keep the server's fence (a connection cut off
for the fence time ends its attempts as lost).

  --nodes N          simulated nodes
  --sites A,B,...    the sites to spread them over (they must be sites the server is configured with)
  --connections K    WebSocket connections to multiplex the nodes over
  --cpu CPU          each node's cpu (default 16)
  --memory MEM       each node's memory (default 64Gi)
  --heartbeat MS     heartbeat interval (default: what the server says)
  --prefix NAME      node names are NAME-SITE-I (default sim)
  --server, --token  as for every client command (env MUSTER_SERVER, MUSTER_TOKEN)

Runs until SIGTERM or SIGINT.`;

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} ${value}: expected a whole number of at least 1`);
  return n;
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'run a fleet of simulated agents against a server (scale tests, benchmarks)',
  usage: USAGE,
  run: (args: readonly string[], io: Io) =>
    runCommand('sim', io, async () => {
      const { values } = parseCommandLine(
        args,
        {
          server: CONNECTION_OPTIONS.server,
          token: CONNECTION_OPTIONS.token,
          nodes: { type: 'string' },
          sites: { type: 'string' },
          connections: { type: 'string' },
          cpu: { type: 'string' },
          memory: { type: 'string' },
          heartbeat: { type: 'string' },
          prefix: { type: 'string' },
        },
        false,
      );
      const connection = resolveConnection(values);
      if (connection.token === undefined) throw new UsageError('--token: the simulated agents need an agent or admin token (or MUSTER_TOKEN)');
      const sites = (values.sites ?? 'local').split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (sites.length === 0) throw new UsageError('--sites: name at least one site');
      const connections = positiveInt(values.connections, '--connections', 4);
      const fleet = new SimFleet({
        endpoints: agentUrls(connection.endpoints),
        token: connection.token,
        nodes: positiveInt(values.nodes, '--nodes', 100),
        sites,
        connections,
        capacity: { cpu: values.cpu ?? '16', memory: values.memory ?? '64Gi' },
        ...(values.heartbeat !== undefined ? { heartbeatMs: positiveInt(values.heartbeat, '--heartbeat', 1000) } : {}),
        ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
        log: createLogger({ name: 'sim' }),
      });
      const stop = terminated();
      // Not awaited: with no server the fleet keeps trying until it is told to stop.
      void fleet.start().then(() => {
        const s = fleet.stats();
        io.out(`sim: ${s.nodes} nodes connected over ${Math.min(s.nodes, connections)} connections to ${connection.endpoints}`);
      });
      io.out(`sim: connecting ${fleet.names.length} nodes to ${connection.endpoints}`);
      const report = setInterval(() => {
        const now = fleet.stats();
        io.out(`sim: started ${now.started}, ended ${now.ended}, running ${now.running}`);
      }, 5000);
      await stop;
      clearInterval(report);
      fleet.stop();
      return EXIT_OK;
    }),
};
