/**
 * Reading spec files: JSON (one object or an array of them) or YAML (one or more `---` documents).
 * Each document comes back with where it came from, for messages such as `job.yaml#2: tasks: …`.
 * The YAML parser loads with the first YAML file read: `muster submit -- CMD` never pays for it.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

type Yaml = typeof import('yaml');

export interface SourceDocument {
  /** `file` for a file with one document, `file#N` (1-based) for the Nth of several. */
  readonly where: string;
  readonly value: unknown;
}

export type SpecFile = { readonly ok: true; readonly documents: readonly SourceDocument[] } | { readonly ok: false; readonly message: string };

function located(file: string, values: readonly unknown[]): SourceDocument[] {
  return values.map((value, i) => ({ where: values.length === 1 ? file : `${file}#${i + 1}`, value }));
}

function isJson(file: string): boolean {
  return extname(file).toLowerCase() === '.json';
}

function parseSpecText(file: string, text: string, yaml: Yaml | undefined): SpecFile {
  if (isJson(file) || yaml === undefined) {
    try {
      const value: unknown = JSON.parse(text);
      return { ok: true, documents: located(file, Array.isArray(value) ? value : [value]) };
    } catch (err) {
      return { ok: false, message: `not valid JSON: ${(err as Error).message}` };
    }
  }
  const docs = yaml.parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) return { ok: false, message: `not valid YAML: ${error.message.split('\n')[0]}` };
    if (doc.contents !== null) values.push(doc.toJS({ maxAliasCount: 100 }));
  }
  if (values.length === 0) return { ok: false, message: 'holds no document' };
  return { ok: true, documents: located(file, values) };
}

export async function readSpecFile(file: string): Promise<SpecFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, message: `cannot read: ${e.code ?? e.message}` };
  }
  return parseSpecText(file, text, isJson(file) ? undefined : await import('yaml'));
}

/**
 * The documents of `files` that `check` finds nothing wrong with, in order; `check` gives the problem lines
 * of one document (none: it is taken). Every unreadable file and every problem is reported, as `muster
 * validate` would; undefined when there was any, so that nothing is sent.
 */
export async function checkedDocuments(files: readonly string[], report: (line: string) => void, check: (doc: SourceDocument) => readonly string[]): Promise<SourceDocument[] | undefined> {
  const taken: SourceDocument[] = [];
  let invalid = 0;
  for (const file of files) {
    const read = await readSpecFile(file);
    if (!read.ok) {
      report(`${file}: MUSTER_ERR_INVALID_SPEC: ${read.message}`);
      invalid++;
      continue;
    }
    for (const doc of read.documents) {
      const problems = check(doc);
      for (const line of problems) report(`${doc.where}: ${line}`);
      if (problems.length > 0) invalid++;
      else taken.push(doc);
    }
  }
  return invalid === 0 ? taken : undefined;
}

/** The `kind` a spec document names (undefined: none, which is a job). */
export function documentKind(doc: SourceDocument): unknown {
  return (doc.value as { kind?: unknown } | null)?.kind;
}
