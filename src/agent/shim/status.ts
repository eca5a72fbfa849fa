/**
 * The status file a shim leaves in its attempt's folder when the task's leader has ended
 * (`ATTEMPT/status`, written as `status.tmp` then renamed, so a reader sees all of it or nothing):
 *
 *   exit CODE             the leader exited with CODE
 *   signal NUMBER         the leader died of signal NUMBER
 *   error ERRNO STAGE     the task could not be started (STAGE: stdin, fork, chdir, setgroups, setgid, setuid, exec)
 *   aborted               the launch data never arrived whole (the agent went away mid-launch): nothing ran
 *
 * then the line `fenced` when the shim killed the task because the agent's lease ran out. Numbers, not
 * names: C has no portable way to name an errno; the agent names them (`os.constants`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const STATUS_FILE = 'status';

export type ShimStatus =
  | { readonly kind: 'exit'; readonly code: number; readonly fenced: boolean }
  | { readonly kind: 'signal'; readonly signal: number; readonly fenced: boolean }
  | { readonly kind: 'error'; readonly errno: number; readonly stage: string; readonly fenced: false }
  | { readonly kind: 'aborted'; readonly fenced: false };

export function formatStatus(status: ShimStatus): string {
  const fenced = status.fenced ? 'fenced\n' : '';
  switch (status.kind) {
    case 'exit':
      return `exit ${status.code}\n${fenced}`;
    case 'signal':
      return `signal ${status.signal}\n${fenced}`;
    case 'error':
      return `error ${status.errno} ${status.stage}\n`;
    case 'aborted':
      return 'aborted\n';
  }
}

/** The status a text says, or undefined when it is not one (never written by a shim). */
export function parseStatus(text: string): ShimStatus | undefined {
  const lines = text.split('\n').filter((l) => l !== '');
  const [first, ...rest] = lines;
  if (first === undefined) return undefined;
  const fenced = rest.includes('fenced');
  const words = first.split(' ');
  const number = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
  switch (words[0]) {
    case 'exit': {
      const code = number(words[1]);
      return code === undefined ? undefined : { kind: 'exit', code, fenced };
    }
    case 'signal': {
      const signal = number(words[1]);
      return signal === undefined ? undefined : { kind: 'signal', signal, fenced };
    }
    case 'error': {
      const errno = number(words[1]);
      return errno === undefined || words[2] === undefined ? undefined : { kind: 'error', errno, stage: words[2], fenced: false };
    }
    case 'aborted':
      return { kind: 'aborted', fenced: false };
    default:
      return undefined;
  }
}

/** The status in an attempt's folder; undefined when the shim has written none (yet, or ever). */
export async function readStatus(attemptDir: string): Promise<ShimStatus | undefined> {
  try {
    return parseStatus(await readFile(join(attemptDir, STATUS_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}
