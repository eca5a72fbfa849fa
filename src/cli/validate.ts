import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { formatProblem, validateDocument } from '../model/index.js';
import type { SpecDocument } from '../model/index.js';
import { readSpecFile } from './spec-files.js';

function title(doc: SpecDocument): string {
  switch (doc.kind) {
    case 'Job':
      return `Job ${doc.spec.name ?? '(unnamed)'} in queue ${doc.spec.queue}`;
    case 'Queue':
      return `Queue ${doc.spec.name} of tenant ${doc.spec.tenant}`;
    case 'Node':
      return `Node ${doc.spec.name} in site ${doc.spec.site}`;
    case 'Site':
      return `Site ${doc.spec.name}`;
  }
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check spec files (jobs, queues, nodes, sites; JSON or YAML) and print every problem',
  usage: `usage: muster validate FILE...

Reads each FILE (JSON: an object or an array of objects; YAML: one or more documents separated by ---)
and checks every document against its kind (kind: Job, Queue, Node or Site; Job when absent).
Prints "FILE: ok (...)" for each valid document and "FILE: PATH: CODE: MESSAGE" for every problem.
Exits 0 when every document is valid, 1 when any is not, 2 on a wrong command line.`,

  async run(args, io) {
    let files: string[];
    try {
      files = parseArgs({ args: [...args], allowPositionals: true, strict: true, options: {} }).positionals;
    } catch (err) {
      io.err(`muster validate: MUSTER_ERR_USAGE: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
    if (files.length === 0) {
      io.err('muster validate: MUSTER_ERR_USAGE: name at least one FILE');
      io.err(this.usage);
      return EXIT_USAGE;
    }
    let invalid = 0;
    for (const file of files) {
      const read = await readSpecFile(file);
      if (!read.ok) {
        io.out(`${file}: MUSTER_ERR_INVALID_SPEC: ${read.message}`);
        invalid++;
        continue;
      }
      for (const doc of read.documents) {
        const result = validateDocument(doc.value);
        if (result.ok) {
          io.out(`${doc.where}: ok (${title(result.value)})`);
        } else {
          invalid++;
          for (const problem of result.problems) io.out(`${doc.where}: ${formatProblem(problem)}`);
        }
      }
    }
    return invalid === 0 ? EXIT_OK : EXIT_PROBLEM;
  },
};
