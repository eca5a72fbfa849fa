import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { codeOf, type ErrorCode } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { STRATEGIES, type Strategy } from '../model/index.js';
import type { NodeChange, Parsed, PolicyChanges, QueueFieldChange, QueueWeightChange } from '../replay/index.js';
import { formatJson, formatTables, parseNodeChange, parseQueueField, parseQueueWeight, replayHistory } from '../replay/index.js';

const OUTPUTS = ['table', 'json'] as const;

/** Codes that mean the command line asked for something the history does not have: exit 2, like a typo. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['MUSTER_ERR_USAGE', 'MUSTER_ERR_UNKNOWN_SITE', 'MUSTER_ERR_UNKNOWN_NODE']);

class UsageError extends Error {}

function parsedAll<T>(texts: readonly string[] | undefined, parse: (text: string) => Parsed<T>): T[] {
  return (texts ?? []).map((text) => {
    const parsed = parse(text);
    if (!parsed.ok) throw new UsageError(parsed.message);
    return parsed.value;
  });
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw new UsageError(`${flag} ${value}: must be one of ${allowed.join(', ')}`);
}

export const replayCommand: Command = {
  name: 'replay',
  summary: "rebuild a data folder's event history and report it; with changed policy, compare a what-if run",
  usage: `usage: muster replay --data DIR [--queue-weight QUEUE=WEIGHT]... [--queue-set QUEUE:FIELD=VALUE]...
                     [--strategy binpack|spread] [--nodes CHANGE]... [-o table|json]

Reads the event history of the data folder DIR (read-only: a running server may hold it) from seq 1,
rebuilds it and prints what happened: jobs by status at the end, waits per queue (submission to the first
task running), each queue's share of cpu·time, and cpu utilisation per site over time.

With any change below, it re-runs the recorded submissions, node events and task lengths in simulated
time twice — under the recorded policy (baseline) and under the changed one (what-if) — and prints both:
  --queue-weight QUEUE=WEIGHT   the queue's weight (above 0); repeatable
  --queue-set QUEUE:FIELD=VALUE one field of the queue's spec, read as a spec reads it; repeatable:
                                weight, priority, guaranteedShare, borrow, disruptionBudget,
                                protectFor, gracePeriod, or one resource of guarantee, limit or
                                borrowLimit (batch:guarantee.cpu=64, batch:borrowLimit.gpu=2,
                                batch:guaranteedShare=0.3, batch:borrow=false, batch:disruptionBudget=10)
  --strategy binpack|spread     every job's placement strategy
  --nodes site=SITE:+N          N more nodes in SITE, copies of its first node   (repeatable)
  --nodes site=SITE:-N          N fewer: SITE's last N nodes to join never join
  --nodes NODE=drain            NODE drains from its first join on
  --nodes NODE=remove           NODE never joins
The same history and flags always print the same output.

  -o, --output table|json       human tables (default) or JSON
Exits 0 on success, 1 when the history cannot be replayed (trimmed, damaged), 2 on a wrong command line.`,

  async run(args, io) {
    let dir: string;
    let output: (typeof OUTPUTS)[number];
    let changes: PolicyChanges;
    try {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        strict: true,
        options: {
          data: { type: 'string' },
          'queue-weight': { type: 'string', multiple: true },
          'queue-set': { type: 'string', multiple: true },
          strategy: { type: 'string' },
          nodes: { type: 'string', multiple: true },
          output: { type: 'string', short: 'o' },
        },
      });
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      if (values.data === undefined) throw new UsageError('--data DIR is required');
      dir = values.data;
      const isFolder = await stat(dir).then((s) => s.isDirectory(), () => false);
      if (!isFolder) throw new UsageError(`--data ${dir}: no such folder`);
      output = oneOf('--output', values.output, OUTPUTS) ?? 'table';
      const strategy: Strategy | undefined = oneOf('--strategy', values.strategy, STRATEGIES);
      const queueWeights: QueueWeightChange[] = parsedAll(values['queue-weight'], parseQueueWeight);
      const queueFields: QueueFieldChange[] = parsedAll(values['queue-set'], parseQueueField);
      const nodes: NodeChange[] = parsedAll(values.nodes, parseNodeChange);
      changes = { queueWeights, queueFields, strategy, nodes };
    } catch (err) {
      io.err(`muster replay: MUSTER_ERR_USAGE: ${(err as Error).message}`);
      if (!(err instanceof UsageError)) io.err(this.usage);
      return EXIT_USAGE;
    }
    try {
      const result = await replayHistory({ dir, changes, logger: createLogger({ name: 'replay', level: 'warn' }) });
      io.out(output === 'json' ? formatJson(result) : formatTables(result));
      return EXIT_OK;
    } catch (err) {
      const code = codeOf(err) ?? 'MUSTER_ERR_INTERNAL';
      io.err(`muster replay: ${code}: ${(err as Error).message}`);
      return USAGE_CODES.has(code) ? EXIT_USAGE : EXIT_PROBLEM;
    }
  },
};
