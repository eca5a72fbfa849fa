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
 * | anything                            | the agent's fence ran out      | lost, reason `fenced: …` |
 * | could not be executed               | —                              | failed, exitCode 127/126 |
 * | unknown: no status was left         | —                              | lost, reason says so     |
 *
 * Once muster has asked an attempt to stop, how the process went (a clean exit 0 inside the grace period,
 * or SIGKILL after it) does not change the outcome: the attempt did not run to its own end. A task its shim
 * killed at the fence is `lost` whatever else was asked: the control plane may have given it to another node.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type { ShimStatus } from '../shim/index.js';
import type { AttemptOutcome } from './types.js';

/** A stop muster asked for: a time limit, a kill from the server, the agent's shutdown or its fence. */
export interface StopRequest {
  readonly outcome: Extract<AttemptOutcome, 'killed' | 'timeout' | 'lost'>;
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

/** Why an attempt whose shim left no status is `lost`: nobody can know how it ended. */
export const LOST_NO_STATUS = 'its supervisor and task are gone and left no status: how it ended cannot be known';
/** Why an attempt is `lost` when its shim killed it at the fence. */
export const FENCED_BY_SHIM = 'fenced: the agent had no contact with the control plane for its fence time; the shim killed the task';
/** Why an attempt is `lost` when its launch was cut short by the agent stopping. */
export const LOST_MID_LAUNCH = 'the agent stopped while launching it: it never ran';

/** How an attempt ended, from the status its shim left (undefined: it left none) and the stop muster asked for. */
export function supervisedOutcome(status: ShimStatus | undefined, stop: StopRequest | undefined, command: string): ProcessEnd {
  if (status === undefined) return { outcome: 'lost', reason: LOST_NO_STATUS };
  switch (status.kind) {
    case 'aborted':
      return stop ? { outcome: stop.outcome, reason: stop.reason } : { outcome: 'lost', reason: LOST_MID_LAUNCH };
    case 'error': {
      const [code, message] = getSystemErrorMap().get(-status.errno) ?? [`errno ${status.errno}`, 'unknown error'];
      if (status.stage === 'exec') return launchFailure(command, Object.assign(new Error(message), { code }));
      return { outcome: 'failed', exitCode: EXIT_NOT_FOUND, reason: `could not start ${command}: ${status.stage} failed: ${message} (${code})` };
    }
    case 'exit':
    case 'signal': {
      const signal = status.kind === 'signal' ? signalName(status.signal) : null;
      const exitCode = status.kind === 'exit' ? status.code : null;
      if (status.fenced) return { outcome: 'lost', ...(exitCode !== null ? { exitCode } : {}), ...(signal ? { signal } : {}), reason: FENCED_BY_SHIM };
      // A signal Node has no name for (a real-time one): said by number.
      if (signal === undefined && status.kind === 'signal') return stop ? { outcome: stop.outcome, reason: stop.reason } : { outcome: 'failed', reason: `killed by signal ${status.signal}` };
      return processOutcome(exitCode, signal ?? null, stop);
    }
  }
}

function signalName(n: number): NodeJS.Signals | undefined {
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name as NodeJS.Signals;
  return undefined;
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
