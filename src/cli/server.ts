import { parseArgs } from 'node:util';
import { codeOf } from '../errors/index.js';
import { setLogFormat } from '../log/index.js';
import type { LogFormat } from '../log/index.js';
import { chooseLogFormat, LOG_FORMAT_USAGE } from './log-format.js';
import type { ServeEnd, StoreFailure } from '../server/index.js';
import { STORE_FAILED_CLOSE_MS, STORE_FAILED_EXIT_CODE, STORE_FAILED_EXIT_DELAY_MS, resolveConfig, startServer } from '../server/index.js';
import type { Command } from './command.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from './io.js';
import { terminated } from './signals.js';

const USAGE = `usage: muster server [--data DIR] [--host HOST] [--port PORT] [--config FILE] [--tokens FILE]
                     [--tls-cert FILE --tls-key FILE]
                     [--etcd URL[,URL...] [--etcd-prefix PREFIX] [--lease-ttl SECONDS]]
                     [--log-format human|json]

Runs the control plane: recovers the state from the data folder (embedded store), starts the scheduler
and serves the WebSocket and HTTP APIs (PROTOCOL.md).

With --etcd, it is one replica of a highly available control plane instead: replicas (run several, on
other machines) share the event log in etcd and elect a leader on an etcd lease; the leader serves, the
others follow the log as hot standbys, refuse requests with MUSTER_ERR_NOT_LEADER and the leader's URL,
and one of them takes over within seconds when the leader dies. Replicas must share a token file.

  --data DIR       the data folder (default ./.muster); locked while the server runs
  --host HOST      the address to listen on (default 127.0.0.1)
  --port PORT      the port (default 7070; 0 picks a free one)
  --config FILE    a YAML or JSON file with these options and limits, sites, queues, snapshot cadence
  --tokens FILE    a YAML or JSON list of { token, tenant, role }; without one, an admin token is kept in
                   DIR/admin.token (made on first start, mode 0600)
  --tls-cert FILE, --tls-key FILE
                   serve wss:// and https:// with this PEM certificate and key
  --etcd URL[,URL...]
                   the etcd cluster's client URLs (http://host:2379): run as a replica on etcd
  --etcd-prefix PREFIX
                   the key prefix in etcd (default /muster): one per control plane sharing an etcd
  --lease-ttl SECONDS
                   the election lease's time to live (default 2): a dead leader is replaced within
                   about this, plus the takeover
${LOG_FORMAT_USAGE}

Prints "url: URL" once listening, "token: TOKEN" when the admin token file is in use, and "ready: ..." once
the state is recovered and everything is served. SIGTERM or SIGINT stops it cleanly (exit 0): no new
requests, every acknowledged event durable, sockets closed, the store flushed and unlocked.

If the store fails (a write or fsync error: EIO, ENOSPC), every waiting request is answered
MUSTER_ERR_STORE_FAILED, /healthz and /readyz answer 503, and the server exits with status 74 about a
second later, for a supervisor to restart it (recovery then reads what is durable).

Exit status: 0 stopped by a signal, 1 could not start, 2 usage, 74 the store failed.`;

function parse(args: readonly string[]): (Parameters<typeof resolveConfig>[0] & { readonly logFormat: LogFormat }) | string {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        config: { type: 'string' },
        tokens: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        etcd: { type: 'string' },
        'etcd-prefix': { type: 'string' },
        'lease-ttl': { type: 'string' },
        'log-format': { type: 'string' },
      },
    }).values;
  } catch (err) {
    return (err as Error).message;
  }
  let port: number | undefined;
  if (values['port'] !== undefined) {
    port = Number(values['port']);
    if (!/^\d+$/.test(values['port']) || port > 65_535) return `--port ${values['port']}: expected a port number (0 to 65535)`;
  }
  let leaseTtlSeconds: number | undefined;
  if (values['lease-ttl'] !== undefined) {
    leaseTtlSeconds = Number(values['lease-ttl']);
    if (!/^\d+$/.test(values['lease-ttl']) || leaseTtlSeconds < 1 || leaseTtlSeconds > 60) return `--lease-ttl ${values['lease-ttl']}: expected whole seconds from 1 to 60`;
  }
  const logFormat = chooseLogFormat(values['log-format']);
  if (!(logFormat === 'human' || logFormat === 'json')) return logFormat;
  const flag = (name: string, key: string): Record<string, string> => (values[name] !== undefined ? { [key]: values[name]! } : {});
  return {
    logFormat,
    ...flag('data', 'data'),
    ...flag('host', 'host'),
    ...(port !== undefined ? { port } : {}),
    ...flag('config', 'config'),
    ...flag('tokens', 'tokens'),
    ...flag('tls-cert', 'tlsCert'),
    ...flag('tls-key', 'tlsKey'),
    ...flag('etcd', 'etcd'),
    ...flag('etcd-prefix', 'etcdPrefix'),
    ...(leaseTtlSeconds !== undefined ? { leaseTtlSeconds } : {}),
  };
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the control plane: recover state, schedule, serve the WebSocket and HTTP APIs',
  usage: USAGE,

  async run(args, io) {
    const flags = parse(args);
    if (typeof flags === 'string') {
      io.err(`muster server: MUSTER_ERR_USAGE: ${flags}`);
      io.err(USAGE);
      return EXIT_USAGE;
    }
    setLogFormat(flags.logFormat);
    const signal = terminated();
    let server: Serving;
    try {
      const { logFormat: _format, ...serverFlags } = flags;
      const config = await resolveConfig(serverFlags);
      // The replica (and the etcd client under it) loads only when asked for.
      const start = config.etcd ? (await import('../server/replica.js')).RunningReplica.start : startServer;
      server = await start(config, {
        listening: (url, token) => {
          io.out(`url: ${url}`);
          if (token !== undefined) io.out(`token: ${token}`);
        },
        ready: (info) => io.out(`ready: ${info.jobs} jobs recovered (log at seq ${info.lastSeq}, ${info.replayed} events replayed), epoch ${info.epoch}`),
      });
    } catch (err) {
      io.err(`muster server: ${codeOf(err) ?? 'MUSTER_ERR_INTERNAL'}: ${(err as Error).message}`);
      return codeOf(err) === 'MUSTER_ERR_STORE_FAILED' ? STORE_FAILED_EXIT_CODE : EXIT_PROBLEM;
    }
    const end = await server.until(signal);
    if (end.kind === 'store-failed') return exitAfterStoreFailure('muster server', server, end.failure, io);
    io.err(`muster server: ${end.signal}: stopping`);
    return stopServer('muster server', server, io);
  },
};

/** What the command drives: a single server or a replica on etcd. */
export interface Serving {
  until(signal: Promise<string>): Promise<ServeEnd>;
  stop(): Promise<void>;
  closeAfterStoreFailure(): Promise<void>;
}

/** A clean stop asked for by a signal: 0, or `STORE_FAILED_EXIT_CODE` if the store failed meanwhile (its last flush, say). */
export async function stopServer(command: string, server: Serving, io: Io): Promise<number> {
  try {
    await server.stop();
  } catch (err) {
    io.err(`${command}: ${codeOf(err) ?? 'MUSTER_ERR_INTERNAL'}: stopping failed: ${(err as Error).message}`);
    return codeOf(err) === 'MUSTER_ERR_STORE_FAILED' ? STORE_FAILED_EXIT_CODE : EXIT_PROBLEM;
  }
  io.out('stopped');
  return EXIT_OK;
}

/**
 * The end of a server whose store failed: says so, closes everything once the refusals have left
 * (`closeAfterStoreFailure`) and returns `STORE_FAILED_EXIT_CODE`. A failing disk may hang a call forever,
 * so the process exits with that status `STORE_FAILED_EXIT_DELAY_MS + STORE_FAILED_CLOSE_MS` after the
 * failure whatever still runs (the timer keeps nothing alive by itself). `first` runs before the server
 * closes (`muster start` stops its agent).
 */
export async function exitAfterStoreFailure(command: string, server: Serving, failure: StoreFailure, io: Io, first?: () => Promise<void>): Promise<number> {
  io.err(`${command}: ${failure.error.code}: ${failure.error.message}; exiting with ${STORE_FAILED_EXIT_CODE} for a supervisor to restart it`);
  setTimeout(() => {
    io.err(`${command}: closing after the store failed did not finish within ${STORE_FAILED_CLOSE_MS} ms; exiting with ${STORE_FAILED_EXIT_CODE} regardless`);
    process.exit(STORE_FAILED_EXIT_CODE);
  }, STORE_FAILED_EXIT_DELAY_MS + STORE_FAILED_CLOSE_MS).unref();
  try {
    await first?.();
    await server.closeAfterStoreFailure();
  } catch (err) {
    io.err(`${command}: ${codeOf(err) ?? 'MUSTER_ERR_INTERNAL'}: closing after the store failed: ${(err as Error).message}`);
  }
  return STORE_FAILED_EXIT_CODE;
}
