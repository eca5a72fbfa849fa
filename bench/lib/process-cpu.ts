/**
 * CPU used by another process, read from /proc (Linux): printed beside a benchmark's samples to show which
 * side (the server under test or the load that drives it) is saturated.
 */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system, every thread) process `pid` has used so far; undefined off Linux or once it is gone. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime and stime the 14th and 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** `cpu` seconds over `seconds` of wall time as a share of one core (`'?'` when unknown). */
export function percentOfCore(cpu: number, seconds: number): string {
  return Number.isFinite(cpu) ? `${Math.round((100 * cpu) / seconds)}%` : '?';
}
