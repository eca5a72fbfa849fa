/**
 * A real `muster agent` process (bin/muster.js, which runs dist/: rebuild it before these tests) for the
 * fault tests: its log lines (JSON on stderr) and output are collected, and a test can wait for a line, stop
 * it (SIGSTOP), resume it, kill it or end it. Whatever a test leaves running is SIGKILLed at its end; the
 * tasks it ran are the test's to check.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { until } from '../helpers/until.js';

const BIN = join(import.meta.dirname, '../../bin/muster.js');

export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(t: Test, args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MUSTER_LOG_LEVEL: 'info', ...env } });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop()!;
        this.lines.push(...parts);
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    t.teardown(() => {
      if (!this.exit) this.child.kill('SIGKILL');
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for `n` lines (output or log) that match `pattern`. */
  async waitFor(pattern: RegExp, n = 1, timeoutMs = 20_000): Promise<string[]> {
    return until(`${n} line(s) matching ${pattern}`, async () => this.lines.filter((l) => pattern.test(l)), (found) => found.length >= n || this.exit !== undefined, timeoutMs).then((found) => {
      if (found.length < n) throw new Error(`the agent exited (${JSON.stringify(this.exit)}) before logging ${pattern}; its last lines: ${this.lines.slice(-5).join('\n')}`);
      return found;
    });
  }

  /** Its state letter in /proc (T: stopped). */
  state(): string | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return undefined;
    }
  }
}

/** Live (not zombie) processes whose command line mentions `text`: the shims of a work folder name it. */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * A work folder for real agent processes, removed at the end of the test. If the test failed half-way,
 * the attempts its journal records are killed first (their shims by pid and start time, their tasks by
 * process group), so a failure leaves no task behind; a passing test asserts there was none left.
 */
export function cleanUpWorkFolder(t: Test, work: string): void {
  t.teardown(async () => {
    let names: string[] = [];
    try {
      names = readdirSync(join(work, 'journal')).filter((n) => n.endsWith('.json'));
    } catch {
      // no journal: nothing ever ran
    }
    for (const name of names) {
      try {
        const entry = JSON.parse(readFileSync(join(work, 'journal', name), 'utf8')) as { shim?: { pid: number; startTime: string }; pgid?: number };
        if (entry.pgid !== undefined) signal(-entry.pgid);
        if (entry.shim && startTimeOf(entry.shim.pid) === entry.shim.startTime) signal(entry.shim.pid);
      } catch {
        // unreadable: nothing to kill by it
      }
    }
    await rm(work, { recursive: true, force: true });
  });
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // gone already
  }
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
