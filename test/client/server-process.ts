/**
 * A real `muster server` in a child process (`node bin/muster.js server`, the built CLI: run `npm run build`
 * first; `npm test` does), with its embedded store in a temporary folder. Tests wait for its `ready:` line,
 * never for time. `kill()` is a SIGKILL (a crash); `restart()` starts it again on the same port and folder.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MUSTER = join(ROOT, 'bin', 'muster.js');

/** How long a server may take to recover and serve before a test gives up on it. */
const START_TIMEOUT_MS = 30_000;

export interface ServerProcessOptions {
  /** The data folder (default: a new temporary one, removed by `stop`). */
  readonly dir?: string;
  readonly port?: number;
  /** More `muster server` arguments (e.g. `--config FILE`). */
  readonly args?: readonly string[];
  /** Arguments for node itself (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

export class ServerProcess {
  readonly dir: string;
  readonly #ownsDir: boolean;
  readonly #args: readonly string[];
  readonly #nodeArgs: readonly string[];
  #child: ChildProcess | undefined;
  url = '';
  token = '';
  stderr = '';

  private constructor(dir: string, ownsDir: boolean, options: ServerProcessOptions) {
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#args = options.args ?? [];
    this.#nodeArgs = options.nodeArgs ?? [];
  }

  static async start(options: ServerProcessOptions = {}): Promise<ServerProcess> {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run npm run build before these tests');
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'muster-client-'));
    const server = new ServerProcess(dir, options.dir === undefined, options);
    await server.#spawn(options.port ?? 0);
    return server;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #spawn(port: number): Promise<void> {
    const child = spawn(process.execPath, [...this.#nodeArgs, MUSTER, 'server', '--data', this.dir, '--port', String(port), ...this.#args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8192);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`muster server not ready after ${START_TIMEOUT_MS} ms: ${this.stderr}`)), START_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('url: ')) this.url = line.slice(5).trim();
        if (line.startsWith('token: ')) this.token = line.slice(7).trim();
        if (line.startsWith('ready: ')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`muster server exited (${code ?? signal}) before it was ready: ${this.stderr}`));
      });
    });
  }

  /** SIGKILL, as a crash: nothing is flushed that was not already durable. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Starts the server again on the same data folder, on `port` (default: the same port). The same port
   * fails while connections of the killed process linger in TIME_WAIT (uWS does not set SO_REUSEADDR), so
   * a crash test restarts on another port that its client has as its second endpoint.
   */
  async restart(port: number = this.port): Promise<void> {
    await this.kill();
    await this.#spawn(port);
  }

  /** SIGTERM (a clean stop), then removes the data folder if this object made it. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
