/**
 * What the commands that talk to a server share: the connection flags (`--server`, `--token`, `-o`), where
 * their values come from when a flag is absent (env `MUSTER_SERVER` / `MUSTER_TOKEN`, then the server
 * `muster start` runs on this machine: `MUSTER_PORT` and the admin token in `MUSTER_DATA`, see
 * local-server.ts), a client with command-line timeouts, and one way to
 * report failures: `muster NAME: CODE: message`, never a stack trace. `--server` takes the replicas of
 * one cluster, comma-separated: the client follows the leader among them (src/client/replicas.ts).
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import type { MusterClient } from '../client/index.js';
import { createClient, parseEndpoints, ServerError } from '../client/index.js';
import { codeOf } from '../errors/index.js';
import type { Command } from './command.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { ADMIN_TOKEN_FILE, envValue, LOCAL_DATA_DIR, LOCAL_PORT, localPort, localTokenFile } from './local-server.js';
import { UsageError } from './usage-error.js';

export { UsageError } from './usage-error.js';

/** Where `muster server` listens by default. */
export const DEFAULT_SERVER = `http://127.0.0.1:${LOCAL_PORT}`;

/**
 * How long a command waits for a first connection before it says the server cannot be reached: long enough
 * for a few backoff rounds (a server restarting), short enough that a mistyped address fails promptly.
 */
export const CLI_CONNECT_TIMEOUT_MS = 3_000;

/** How long a command waits for one answer, including a wait for a leader while replicas hold an election. */
export const CLI_REQUEST_TIMEOUT_MS = 30_000;

export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options'];

export const CONNECTION_USAGE = `connection:
  --server URL[,URL...]  the server, or its replicas in the order to try (env MUSTER_SERVER;
                         default http://127.0.0.1:$MUSTER_PORT, port ${LOCAL_PORT} when unset); a standby
                         sends the command to the leader it names, else the next replica is tried;
                         muster leader shows who leads
  --token TOKEN          bearer token (env MUSTER_TOKEN; default: the file $MUSTER_DATA/${ADMIN_TOKEN_FILE}
                         if present, ${LOCAL_DATA_DIR}/${ADMIN_TOKEN_FILE} when MUSTER_DATA is unset)
  -o, --output FORMAT    table (the default, for humans) or json (for scripts)`;

/** How a command prints: `table` for humans (the default), `json` for scripts; `jobs` also takes `wide` and `csv`. */
export type OutputFormat = 'table' | 'json' | 'wide' | 'csv';

export interface Connection {
  readonly endpoints: string;
  readonly token?: string;
  /** The admin token file looked at for want of a token (named by the hint after a 401). */
  readonly tokenFile?: string;
}

export type ParsedCommandLine<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>>;

/** `parseArgs`, strict, with its complaints turned into a `UsageError`. */
export function parseCommandLine<const Options extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: Options, allowPositionals: boolean): ParsedCommandLine<Options> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[] = ['table', 'json']): OutputFormat {
  if (value === undefined) return 'table';
  if ((allowed as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`-o/--output: ${JSON.stringify(value)} is not one of: ${allowed.join(', ')}`);
}

/**
 * The server and token: flag, else environment (`MUSTER_SERVER`, `MUSTER_TOKEN`), else the local server
 * `muster start` runs with this environment (`MUSTER_PORT`, `MUSTER_DATA`; local-server.ts). An empty
 * flag is a usage error; an empty variable is unset.
 */
export function resolveConnection(values: { readonly server?: string | undefined; readonly token?: string | undefined }, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Connection {
  const server = nonEmpty(values.server, '--server');
  const fromEnv = server === undefined ? envValue(env, 'MUSTER_SERVER') : undefined;
  const token = nonEmpty(values.token, '--token') ?? envValue(env, 'MUSTER_TOKEN');
  // MUSTER_PORT is read only when no server is named, so a bad one does not stop a command that names its server.
  const endpoints = server ?? fromEnv ?? `http://127.0.0.1:${localPort(env)}`;
  try {
    parseEndpoints(endpoints);
  } catch (err) {
    throw new UsageError(`${server !== undefined ? '--server' : 'MUSTER_SERVER'}: ${(err as Error).message}`);
  }
  if (token !== undefined) return { endpoints, token };
  const tokenFile = localTokenFile(env, cwd);
  const fromFile = readTokenFile(tokenFile);
  return { endpoints, ...(fromFile !== undefined ? { token: fromFile } : {}), tokenFile };
}

function nonEmpty(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`${name} is empty`);
  return value.trim();
}

function readTokenFile(path: string): string | undefined {
  try {
    const token = readFileSync(path, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** The connection each failed `withClient` call used: the hint after a 401 names its token's source. */
const failedConnections = new WeakMap<object, Connection>();

/** Runs `body` with a client on `connection`, closed afterwards whatever happens. */
export async function withClient<T>(connection: Connection, body: (client: MusterClient) => Promise<T>): Promise<T> {
  const client = createClient({
    endpoints: connection.endpoints,
    ...(connection.token !== undefined ? { token: connection.token } : {}),
    connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: CLI_REQUEST_TIMEOUT_MS,
    // A command sends what it has at once: there are no later calls to wait for.
    batch: { windowMs: 0 },
  });
  try {
    return await body(client);
  } catch (err) {
    if (typeof err === 'object' && err !== null) failedConnections.set(err, connection);
    throw err;
  } finally {
    await client.close();
  }
}

/** Runs a command body; a thrown error becomes `muster NAME: CODE: message` on stderr and an exit status. */
export async function runCommand(name: string, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    reportError(io, name, err);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_PROBLEM;
  }
}

export function reportError(io: Io, name: string, err: unknown): void {
  // A server's code is printed as sent, even one this build's catalog does not know.
  const code: string = err instanceof ServerError ? err.code : (codeOf(err) ?? 'MUSTER_ERR_INTERNAL');
  const message = err instanceof Error ? err.message : String(err);
  io.err(`muster ${name}: ${code}: ${message}`);
  if (err instanceof ServerError) {
    if (err.field !== undefined && !message.includes(err.field)) io.err(`  field: ${err.field}`);
    for (const p of err.problems ?? []) io.err(`  ${p.path}: ${p.code}: ${p.message}`);
  }
  if (err instanceof ServerError && err.oldest !== undefined) {
    io.err(`  the server keeps events from seq ${err.oldest} on: read the state with muster jobs, then watch again without --from`);
  }
  if (code === 'MUSTER_ERR_UNREACHABLE') io.err('  is the server running? name it with --server or MUSTER_SERVER');
  if (code === 'MUSTER_ERR_NOT_LEADER') io.err('  no replica leads now (an election takes a few seconds): try again; muster leader shows each replica\'s view');
  if (code === 'MUSTER_ERR_UNAUTHORIZED') io.err(`  ${unauthorizedHint(typeof err === 'object' && err !== null ? failedConnections.get(err) : undefined)}`);
}

/** What to do about a refused token, naming where the token came from (or the file where none was found). */
export function unauthorizedHint(connection: Connection | undefined): string {
  const give = 'give a token with --token or MUSTER_TOKEN (muster start and muster server print one)';
  if (connection === undefined) return give;
  if (connection.tokenFile === undefined) return `the token given was refused: ${give}`;
  if (connection.token !== undefined) return `the token in ${connection.tokenFile} was refused (is MUSTER_DATA the server's data folder?): ${give}`;
  return `no token: none given and no ${connection.tokenFile} (is MUSTER_DATA the server's data folder?): ${give}`;
}

/** Pretty JSON, for `-o json`. */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command that talks to the server gets: its parsed flags, the output format, a connected client. */
export interface ClientCommandContext<O extends Options> {
  readonly values: ParsedCommandLine<O>['values'];
  readonly positionals: readonly string[];
  readonly format: OutputFormat;
  readonly client: MusterClient;
  readonly io: Io;
}

export interface ClientCommandSpec<O extends Options> {
  readonly name: string;
  readonly summary: string;
  /** The usage text above the connection flags. */
  readonly usage: string;
  /** Flags besides the connection flags. */
  readonly options: O;
  /** Positional arguments: how many, and what to call them in a complaint (`ID`). */
  readonly positionals: { readonly min: number; readonly max: number; readonly name: string };
  /** The `-o` formats it prints (default: table and json). */
  readonly formats?: readonly OutputFormat[];
  run(context: ClientCommandContext<O>): Promise<number>;
}

/** A `Command` that parses its flags, checks its positionals, connects, runs, and reports failures uniformly. */
export function clientCommand<const O extends Options>(spec: ClientCommandSpec<O>): Command {
  const options = { ...spec.options, ...CONNECTION_OPTIONS };
  const usage = `${spec.usage}\n\n${CONNECTION_USAGE}`;
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    run: (args, io) =>
      runCommand(spec.name, io, async () => {
        const { values, positionals } = parseCommandLine(args, options, spec.positionals.max > 0) as { values: Record<string, unknown>; positionals: string[] };
        const { min, max, name } = spec.positionals;
        if (positionals.length < min) throw new UsageError(`name ${min === 1 && max === 1 ? 'the' : 'at least one'} ${name}`);
        if (positionals.length > max) throw new UsageError(`too many arguments: ${positionals.slice(max).join(' ')}`);
        const format = outputFormat(values['output'] as string | undefined, spec.formats);
        const connection = resolveConnection(values as { server?: string; token?: string });
        return withClient(connection, (client) => spec.run({ values: values as ClientCommandContext<O>['values'], positionals, format, client, io }));
      }),
  };
}

export interface ListCommandSpec<O extends Options, Row> extends Omit<ClientCommandSpec<O>, 'run' | 'positionals'> {
  /** The key of the list in the JSON output (`{ queues: [...] }`), as the HTTP route answers it. */
  readonly key: string;
  fetch(client: MusterClient, values: ClientCommandContext<O>['values']): Promise<readonly Row[]>;
  table(rows: readonly Row[]): string[];
}

/** A command that prints one list from the server: a table, or `{ KEY: [...] }` with -o json. */
export function listCommand<const O extends Options, Row>(spec: ListCommandSpec<O, Row>): Command {
  return clientCommand({
    ...spec,
    positionals: { min: 0, max: 0, name: '' },
    async run({ values, format, client, io }) {
      const rows = await spec.fetch(client, values);
      if (format === 'json') printJson(io, { [spec.key]: rows });
      else for (const line of spec.table(rows)) io.out(line);
      return EXIT_OK;
    },
  });
}
