/**
 * A candidate in a child process (fixtures/candidate.ts): its JSON lines as they come, waits on them, its
 * exit. `kill()` ends it whatever state it is in (a stopped process is continued first), for teardowns.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WAIT_MS } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/candidate.ts', import.meta.url));

export interface ChildLine {
  readonly event: string;
  readonly wall: number;
  readonly [field: string]: unknown;
}

export class ChildCandidate {
  readonly lines: ChildLine[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderr: string[] = [];
  readonly #wakers = new Set<() => void>();
  readonly exited: Promise<number | string>;

  constructor(hosts: readonly string[], id: string, prefix: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, hosts.join(','), id, prefix], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    createInterface({ input: this.#child.stdout }).on('line', (text) => {
      this.lines.push(JSON.parse(text) as ChildLine);
      for (const wake of [...this.#wakers]) wake();
    });
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.#stderr.push(chunk));
    this.#child.once('exit', () => {
      for (const wake of [...this.#wakers]) wake();
    });
  }

  /** The first line from index `from` on that `holds`, now or when it comes. */
  waitFor(holds: (line: ChildLine) => boolean, from = 0): Promise<ChildLine> {
    const find = (): ChildLine | undefined => this.lines.slice(from).find(holds);
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.#wakers.delete(wake);
        clearTimeout(timer);
        reject(new Error(`child candidate: ${why}; lines: ${JSON.stringify(this.lines.slice(-30))}; stderr: ${this.#stderr.join('').slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`no such line within ${WAIT_MS} ms`), WAIT_MS);
      const wake = (): void => {
        const line = find();
        if (line !== undefined) {
          this.#wakers.delete(wake);
          clearTimeout(timer);
          resolve(line);
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          fail('exited');
        }
      };
      this.#wakers.add(wake);
    });
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child.kill(signal);
  }

  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  get stderr(): string {
    return this.#stderr.join('');
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
