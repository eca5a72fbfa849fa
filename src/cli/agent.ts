/**
 * `muster agent`: runs this machine as a node of the control plane (src/agent/agent.ts): registers,
 * heartbeats, runs the tasks it is given as real processes under shims, and reports how they end. With no
 * server it keeps trying (and says so on its log); it runs until SIGTERM or SIGINT, then kills what runs
 * (reporting it) and disconnects.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Agent, agentUrls, detectCapacity } from '../agent/index.js';
import { createLogger } from '../log/index.js';
import type { Resources } from '../model/index.js';
import { parseCpu, parseDuration, parseMemory } from '../model/index.js';
import type { Command } from './command.js';
import { CONNECTION_OPTIONS, parseCommandLine, resolveConnection, runCommand, UsageError } from './connection.js';
import type { Io } from './io.js';
import { EXIT_OK } from './io.js';
import { terminated } from './signals.js';

const USAGE = `usage: muster agent [--name NAME] [--site SITE] [--labels K=V,...] [--cpu CPU] [--memory MEM]
                    [--work-dir DIR] [--grace DURATION] [--run-as USER] [--server URL[,URL...]] [--token TOKEN]

Runs this machine as a node: registers with the control plane, heartbeats, runs the tasks it is given as
real processes (output in the work folder), and reports how they end.

- With no server, or after losing it, it keeps trying each server in turn with backoff (its log says which
  and when it tries next); it stops only on SIGTERM or SIGINT. Given the replicas of a cluster, it follows
  the leader: a standby refuses it and names the leader (one log line), and the agent connects there; a
  leader that loses leadership closes the connection and the agent registers with the new one, reporting
  what it runs and every end not yet acknowledged.
- Every task runs under a small supervisor (the shim: native when built, else a node process), so tasks
  survive a crash or restart of the agent. The work folder keeps a journal of them: a restarted agent
  adopts the tasks still running and reports how the others ended, including those that ended while it
  was down. On reconnection it reports what it runs and every end the server has not acknowledged; what
  the server has replaced meanwhile is killed.
- The fence: with no contact with the server for the fence time the server sets, every task is killed
  (by the agent, and by its shim even if the agent is stopped or dead) and reported lost once the server
  is back, since the server may have given it to another node.

  --name NAME        the node's name (default: this host's name)
  --site SITE        its site (default local)
  --labels K=V,...   its labels
  --cpu CPU          capacity to offer (default: this machine's cores)
  --memory MEM       (default: this machine's memory)
  --work-dir DIR     where attempts' folders and output, the journal and the lease go (default
                     ./.muster-agent); keep it across restarts
  --grace DURATION   SIGTERM → SIGKILL grace for kills that name none (default 10s)
  --run-as USER      run tasks as this user (the agent must run as root)
  --server, --token  as for every client command (env MUSTER_SERVER, MUSTER_TOKEN); the token needs the
                     agent or admin role (an agent token must name this node)

Environment: MUSTER_SHIM=native|node forces a shim. On SIGTERM or SIGINT it kills its tasks (SIGTERM,
then SIGKILL after the grace), reports them and exits.`;

export function parseLabels(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--labels: ${JSON.stringify(pair)} is not KEY=VALUE`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

function capacity(cpu: string | undefined, memory: string | undefined): Resources {
  const detected = detectCapacity();
  const c = cpu === undefined ? undefined : parseCpu(cpu);
  if (c && !c.ok) throw new UsageError(`--cpu: ${c.message}`);
  const m = memory === undefined ? undefined : parseMemory(memory, 'down');
  if (m && !m.ok) throw new UsageError(`--memory: ${m.message}`);
  return { ...detected, ...(c ? { cpu: c.value } : {}), ...(m ? { memory: m.value } : {}) };
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run this machine as a node: register, heartbeat, run tasks as real processes',
  usage: USAGE,
  run: (args: readonly string[], io: Io) =>
    runCommand('agent', io, async () => {
      const { values } = parseCommandLine(
        args,
        {
          server: CONNECTION_OPTIONS.server,
          token: CONNECTION_OPTIONS.token,
          name: { type: 'string' },
          site: { type: 'string' },
          labels: { type: 'string' },
          cpu: { type: 'string' },
          memory: { type: 'string' },
          'work-dir': { type: 'string' },
          grace: { type: 'string' },
          'run-as': { type: 'string' },
        },
        false,
      );
      const connection = resolveConnection(values);
      if (connection.token === undefined) throw new UsageError('--token: an agent needs an agent or admin token (or MUSTER_TOKEN)');
      let graceMs: number | undefined;
      if (values.grace !== undefined) {
        const g = parseDuration(values.grace);
        if (!g.ok) throw new UsageError(`--grace: ${g.message}`);
        graceMs = g.value;
      }
      const labels = parseLabels(values.labels);
      const name = values.name ?? hostname();
      const agent = new Agent({
        endpoints: agentUrls(connection.endpoints),
        token: connection.token,
        name,
        site: values.site ?? 'local',
        capacity: capacity(values.cpu, values.memory),
        workDir: resolve(values['work-dir'] ?? '.muster-agent'),
        log: createLogger({ name: 'agent' }),
        ...(labels ? { labels } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(values['run-as'] !== undefined ? { runAs: values['run-as'] } : {}),
      });
      const stop = terminated();
      io.out(`agent: node ${name} connecting to ${connection.endpoints}`);
      // The first connection is not waited for: with no server the agent keeps trying until it is told to
      // stop. A failure to start at all (its work folder unusable) ends the command with the error.
      await Promise.race([stop, agent.start().then(() => (io.out(`agent: node ${name} connected`), stop))]);
      await agent.stop();
      return EXIT_OK;
    }),
};
