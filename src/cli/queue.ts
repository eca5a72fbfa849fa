import { formatProblem, validateQueue } from '../model/index.js';
import { clientCommand, printJson, UsageError } from './connection.js';
import { EXIT_OK, EXIT_PROBLEM } from './io.js';
import { checkedDocuments, documentKind } from './spec-files.js';

export const queueCommand = clientCommand({
  name: 'queue',
  summary: 'admin: define or update queues from spec files (weight, priority, limit, ...), or delete queues',
  usage: `usage: muster queue apply -f FILE [-f FILE...]
       muster queue delete NAME [NAME...]

Defines the queues in the files (kind: Queue documents, JSON or YAML; see examples/queue.yaml), or updates
those that exist; every field is used from the next scheduling cycle on. Queues nest by name (acme/ml is
the parent of acme/ml/train): a parent is defined before its children or in the same apply, a child has
its parent's tenant, and children's guarantees fit in their parent's. Changes last across restarts (a
queue the server's config file names is set back to the config's definition when the server starts). A
queue keeps its tenant. All or nothing: every problem of every queue is reported (checked here first,
then by the server, which also checks the queues as a tree) and none is applied. Prints "created NAME"
or "updated NAME" per queue.

delete: deletes the named queues, all or none. A queue is refused while it has jobs that have not ended
(pending, held or running: cancel them or let them end), ended jobs that waiting jobs depend on, or child
queues (NAME/...) not named in the same command; every problem is reported and nothing is deleted. Its
ended jobs are retired with it, as retention would later: muster job ID still shows them (from the
history), muster jobs no longer lists them, and the control plane's copy of their output goes. A job
submitted later into NAME makes it again, for its tenant. A queue the server's config file names comes
back at the next server start. Prints "deleted NAME" per queue. Admin token only.`,
  options: { file: { type: 'string', short: 'f', multiple: true } },
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER, name: 'verb (apply or delete)' },
  async run({ values, positionals, format, client, io }) {
    const [verb, ...names] = positionals as [string, ...string[]];
    if (verb === 'delete') {
      if (values.file !== undefined) throw new UsageError('-f FILE goes with apply, not delete');
      if (names.length === 0) throw new UsageError('name the queues to delete');
      const { deleted } = await client.deleteQueues(names);
      if (format === 'json') printJson(io, { deleted });
      else for (const name of deleted) io.out(`deleted ${name}`);
      return EXIT_OK;
    }
    if (verb !== 'apply') throw new UsageError(`unknown verb ${JSON.stringify(verb)}: use apply or delete`);
    if (names.length > 0) throw new UsageError(`too many arguments: ${names.join(' ')}`);
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
