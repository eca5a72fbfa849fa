/**
 * `muster agent`: runs this machine as a node of the control plane (src/agent/agent.ts): registers,
 * heartbeats, runs the tasks it is given as real processes, and reports how they end. Runs until SIGTERM
 * or SIGINT, then kills what runs (reporting it) and disconnects.
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

Runs this machine as a node: registers with the control plane (trying each server in turn, reconnecting
with backoff), heartbeats, runs the tasks it is given as real processes (output in the work folder), and
reports how they end. On reconnection it reports what it runs; what the server has replaced is killed.

  --name NAME        the node's name (default: this host's name)
  --site SITE        its site (default local)
  --labels K=V,...   its labels
  --cpu CPU          capacity to offer (default: this machine's cores)
  --memory MEM       (default: this machine's memory)
  --work-dir DIR     where attempts' folders and output go (default ./.muster-agent)
  --grace DURATION   SIGTERM → SIGKILL grace for kills that name none (default 10s)
  --run-as USER      run tasks as this user (the agent must run as root)
  --server, --token  as for every client command (env MUSTER_SERVER, MUSTER_TOKEN); the token needs the
                     agent or admin role

Runs until SIGTERM or SIGINT.`;

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
      const agent = new Agent({
        endpoints: agentUrls(connection.endpoints),
        token: connection.token,
        name: values.name ?? hostname(),
        site: values.site ?? 'local',
        capacity: capacity(values.cpu, values.memory),
        workDir: resolve(values['work-dir'] ?? '.muster-agent'),
        log: createLogger({ name: 'agent' }),
        ...(labels ? { labels } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(values['run-as'] !== undefined ? { runAs: values['run-as'] } : {}),
      });
      await agent.start();
      io.out(`agent: node ${values.name ?? hostname()} connected to ${connection.endpoints}`);
      await terminated();
      await agent.stop();
      return EXIT_OK;
    }),
};
