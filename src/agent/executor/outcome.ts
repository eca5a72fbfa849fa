/**
 * How an attempt ended, from how its process ended and whether muster asked it to stop. Pure.
 *
 * | the process                         | muster asked it to stop        | outcome                  |
 * |-------------------------------------|--------------------------------|--------------------------|
 * | exited 0                            | no                             | succeeded                |
 * | exited non-zero                     | no                             | failed (exitCode)        |
 * | died of a signal                    | no (OOM killer, an operator)   | failed (signal)          |
 * | anything                            | yes: time limit / kill timeout | timeout                  |
 * | anything                            | yes: any other kill            | killed                   |
 * | could not be executed               | —                              | failed, exitCode 127/126 |
 *
 * Once muster has asked an attempt to stop, how the process went (a clean exit 0 inside the grace period,
 * or SIGKILL after it) does not change the outcome: the attempt did not run to its own end.
 */
import type { AttemptOutcome } from './types.js';

/** A stop muster asked for: a time limit, a kill from the server, the agent's shutdown. */
export interface StopRequest {
  readonly outcome: Extract<AttemptOutcome, 'killed' | 'timeout'>;
  readonly reason: string;
}

export interface ProcessEnd {
  readonly outcome: AttemptOutcome;
  readonly exitCode?: number;
  readonly signal?: NodeJS.Signals;
  readonly reason?: string;
}

/** Shell convention: the command was not found. */
export const EXIT_NOT_FOUND = 127;
/** Shell convention: the command was found but could not be executed (permissions, not an executable). */
export const EXIT_NOT_EXECUTABLE = 126;

export function processOutcome(exitCode: number | null, signal: NodeJS.Signals | null, stop: StopRequest | undefined): ProcessEnd {
  const how = {
    ...(exitCode !== null ? { exitCode } : {}),
    ...(signal !== null ? { signal } : {}),
  };
  if (stop) return { outcome: stop.outcome, ...how, reason: stop.reason };
  if (signal !== null) return { outcome: 'failed', ...how, reason: `killed by ${signal}` };
  if (exitCode === 0) return { outcome: 'succeeded', exitCode: 0 };
  return { outcome: 'failed', ...how, reason: `exit code ${String(exitCode)}` };
}

/** The end of an attempt whose program could not be started (`spawn` failed). */
export function launchFailure(command: string, err: unknown): ProcessEnd {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return { outcome: 'failed', exitCode: EXIT_NOT_FOUND, reason: `command not found: ${command}` };
  if (code === 'EACCES' || code === 'ENOEXEC' || code === 'EISDIR') {
    return { outcome: 'failed', exitCode: EXIT_NOT_EXECUTABLE, reason: `cannot execute ${command}: ${message}` };
  }
  return { outcome: 'failed', exitCode: EXIT_NOT_FOUND, reason: `could not start ${command}: ${message}` };
}
