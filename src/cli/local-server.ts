/**
 * The server `muster start` (what `npm start` runs) makes on this machine, and how the client commands find
 * it: it listens on 127.0.0.1 at `MUSTER_PORT` (default 7070) and keeps its state and its admin token in
 * `MUSTER_DATA` (default `./.muster`, relative to the working folder). Both sides read these variables
 * through `localServer`, so a shell with the same variables reaches the server it started.
 *
 * An empty variable is unset (`MUSTER_PORT= npm start` is the default port), as shells treat them.
 * This file imports nothing heavy: every client command loads it.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from './usage-error.js';

/** `muster server`'s default port (src/api DEFAULT_PORT; a test checks they agree). */
export const LOCAL_PORT = 7070;

/** `muster server`'s default data folder (src/server DEFAULT_DATA_DIR; a test checks they agree). */
export const LOCAL_DATA_DIR = '.muster';

/** The file a server without a token file keeps its admin token in, inside its data folder. */
export const ADMIN_TOKEN_FILE = 'admin.token';

export interface LocalServer {
  readonly port: number;
  /** The data folder, absolute. */
  readonly data: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `DATA/admin.token`, absolute. */
  readonly tokenFile: string;
}

/** The value of an environment variable, or undefined when it is unset or empty. */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** `MUSTER_PORT`, or the default; one that is not a port is a `UsageError` naming the variable. */
export function localPort(env: NodeJS.ProcessEnv = process.env): number {
  const text = envValue(env, 'MUSTER_PORT');
  if (text === undefined) return LOCAL_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new UsageError(`MUSTER_PORT: ${JSON.stringify(text)} is not a port number (0 to 65535)`);
  return port;
}

/** `MUSTER_DATA`, or the default, made absolute against `cwd`. */
export function localData(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const text = envValue(env, 'MUSTER_DATA') ?? LOCAL_DATA_DIR;
  return isAbsolute(text) ? text : resolve(cwd, text);
}

/** The admin token file of the local server's data folder. */
export function localTokenFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return join(localData(env, cwd), ADMIN_TOKEN_FILE);
}

/** Where the local server is, from `MUSTER_PORT` and `MUSTER_DATA`. */
export function localServer(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): LocalServer {
  const port = localPort(env);
  return { port, data: localData(env, cwd), url: `http://127.0.0.1:${port}`, tokenFile: localTokenFile(env, cwd) };
}
