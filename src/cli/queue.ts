import { formatProblem, validateQueue } from '../model/index.js';
import { clientCommand, printJson, UsageError } from './connection.js';
import { EXIT_OK, EXIT_PROBLEM } from './io.js';
import { checkedDocuments, documentKind } from './spec-files.js';

export const queueCommand = clientCommand({
  name: 'queue',
  summary: 'admin: define or update queues from spec files (weight, priority, limit, ...)',
  usage: `usage: muster queue apply -f FILE [-f FILE...]

Defines the queues in the files (kind: Queue documents, JSON or YAML; see examples/queue.yaml), or updates
those that exist; every field is used from the next scheduling cycle on. Queues nest by name (acme/ml is
the parent of acme/ml/train): a parent is defined before its children or in the same apply, a child has
its parent's tenant, and children's guarantees fit in their parent's. Changes last across restarts (a
queue the server's config file names is set back to the config's definition when the server starts). A
queue keeps its tenant. All or nothing: every problem of every queue is reported (checked here first,
then by the server, which also checks the queues as a tree) and none is applied. Prints "created NAME"
or "updated NAME" per queue. Admin token only.`,
  options: { file: { type: 'string', short: 'f', multiple: true } },
  positionals: { min: 1, max: 1, name: 'verb (apply)' },
  async run({ values, positionals, format, client, io }) {
    if (positionals[0] !== 'apply') throw new UsageError(`unknown verb ${JSON.stringify(positionals[0])}: use apply`);
    const files = values.file ?? [];
    if (files.length === 0) throw new UsageError('name the queue spec files with -f FILE');
    const docs = await checkedDocuments(files, (line) => io.err(line), (doc) => {
      const kind = documentKind(doc);
      if (kind !== 'Queue') return [`MUSTER_ERR_INVALID_VALUE: kind: ${kind === undefined ? 'absent (a job)' : JSON.stringify(kind)}; only kind: Queue documents are applied`];
      const checked = validateQueue(doc.value);
      return checked.ok ? [] : checked.problems.map((problem) => formatProblem(problem));
    });
    if (docs === undefined) return EXIT_PROBLEM;
    const queues = docs.map((doc) => doc.value as Record<string, unknown>);
    const { applied } = await client.applyQueues(queues);
    if (format === 'json') printJson(io, { applied });
    else for (const q of applied) io.out(`${q.created ? 'created' : 'updated'} ${q.name} (tenant ${q.tenant})`);
    return EXIT_OK;
  },
});
