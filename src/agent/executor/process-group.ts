/**
 * Every attempt is spawned `detached`: it leads its own process group (setsid), and muster signals the group,
 * so a shell's background children and a pipeline's members go with it. A process that starts its own
 * session or group escapes this; only a cgroup would hold it (see the README).
 *
 * Signalling the group just after its leader was reaped (to end what the leader left behind) is safe: Linux
 * does not reuse a pid while a process group of that id has members, and when it has none there is nothing
 * to hit but a new process that took the id in the microseconds between the reaping and the signal.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone already. EPERM cannot happen for a group the agent created.
    return false;
  }
}
