/**
 * A `muster` command in a child process (`node bin/muster.js …`, the built CLI: build first), for tests that
 * need what only a real process shows: its exit status, its stderr log lines, its environment. Tests wait
 * for its lines and its exit, never for time; `exited` settles with the status once it is gone.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MUSTER = join(ROOT, 'bin', 'muster.js');

/** One JSON log line (pino) the child wrote on stderr. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** pino's levels: a line at `error` or above is one an operator is paged for. */
export const LEVEL_ERROR = 50;
export const LEVEL_FATAL = 60;

export class MusterChild {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }[] = [];
  /** stderr as it came, split into lines: the JSON ones parsed in `logs`, the others in `notes`. */
  readonly logs: LogLine[] = [];
  readonly notes: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run npm run build before these tests');
    this.#child = spawn(process.execPath, [MUSTER, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.#lines.push(line);
      for (const w of [...this.#waiters]) {
        const m = w.pattern.exec(line);
        if (m) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => {
      if (!line.startsWith('{')) return void this.notes.push(line);
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.notes.push(line);
      }
    });
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code, signal) => {
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`muster ${args[0]} exited (${code ?? signal}) before printing ${w.pattern}: ${this.notes.join('\n')}`));
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Every stdout line printed so far. */
  get printed(): readonly string[] {
    return this.#lines;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The first stdout line (printed already or to come) that matches. */
  line(pattern: RegExp): Promise<RegExpExecArray> {
    for (const line of this.#lines) {
      const m = pattern.exec(line);
      if (m) return Promise.resolve(m);
    }
    if (!this.running) return Promise.reject(new Error(`muster exited before printing ${pattern}: ${this.notes.join('\n')}`));
    return new Promise((resolve, reject) => this.#waiters.push({ pattern, resolve, reject }));
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Ends it (SIGKILL when still running) and waits until it is gone: what a teardown calls. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}

/** `muster server` on a free port: resolves once it is ready, with its URL. */
export async function startServerChild(dir: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = []): Promise<{ server: MusterChild; url: string }> {
  const server = new MusterChild(['server', '--data', dir, '--port', '0', ...args], env);
  try {
    const url = (await server.line(/^url: (\S+)$/))[1]!;
    await server.line(/^ready: /);
    return { server, url };
  } catch (err) {
    await server.kill();
    throw err;
  }
}
