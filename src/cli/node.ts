import { printJson, clientCommand, UsageError } from './connection.js';
import { EXIT_OK } from './io.js';

export const nodeCommand = clientCommand({
  name: 'node',
  summary: 'admin: drain a node (no new work) or undrain it',
  usage: `usage: muster node drain NODE [--deadline DURATION]
       muster node undrain NODE

drain: nothing new is placed on NODE; what runs there finishes. With --deadline (e.g. 30m, 2h), what still
runs when it passes is killed and requeued, without spending a retry. The drain lasts across restarts and
re-registrations of the node's agent until undrain. muster nodes shows it (state draining).
undrain: the node takes work again (once its agent is connected and heartbeating).
Admin token only.`,
  options: { deadline: { type: 'string' } },
  positionals: { min: 2, max: 2, name: 'verb (drain or undrain) and the node' },
  async run({ values, positionals, format, client, io }) {
    const [verb, node] = positionals as [string, string];
    let answer: unknown;
    if (verb === 'drain') {
      answer = await client.drainNode(node, values.deadline);
      if (format !== 'json') io.out(`drained ${node}${values.deadline !== undefined ? ` (what still runs in ${values.deadline} is requeued)` : ''}`);
    } else if (verb === 'undrain') {
      if (values.deadline !== undefined) throw new UsageError('--deadline goes with drain, not undrain');
      answer = await client.undrainNode(node);
      if (format !== 'json') io.out(`undrained ${node}`);
    } else {
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}: use drain or undrain`);
    }
    if (format === 'json') printJson(io, answer);
    return EXIT_OK;
  },
});
