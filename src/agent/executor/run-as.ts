/**
 * `--run-as USER`: the identity every attempt runs under. Resolved once, when the executor is built, so a
 * typo stops the agent at start rather than failing every task later.
 *
 * The user is looked up in /etc/passwd first (it also gives the home directory), then with `id -u` / `id -g`
 * for users that only a name service (LDAP, sssd) knows. Dropping to another user needs root: libuv calls
 * setgroups(0) (no supplementary groups), setgid and setuid in the child before exec.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MusterError } from '../../errors/index.js';

export interface RunAs {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** The user's home directory (its HOME); `/` when the user database names none. */
  readonly home: string;
}

/** `id` answers at once or not at all; a hung name service must not hang the agent's start for long. */
const ID_TIMEOUT_MS = 5_000;

export function resolveRunAs(user: string): RunAs {
  const euid = process.geteuid?.();
  if (euid !== 0) {
    throw new MusterError('MUSTER_ERR_USAGE', `--run-as ${user} needs the agent to run as root (it runs as uid ${String(euid)})`);
  }
  const found = fromPasswd(user) ?? fromId(user);
  if (!found) throw new MusterError('MUSTER_ERR_INVALID_VALUE', `--run-as: no user named ${JSON.stringify(user)} on this machine`);
  return found;
}

function fromPasswd(user: string): RunAs | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name !== user || uid === undefined || gid === undefined) continue;
    const ids = [Number(uid), Number(gid)] as const;
    if (!ids.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
    return { user, uid: ids[0], gid: ids[1], home: home || '/' };
  }
  return undefined;
}

function fromId(user: string): RunAs | undefined {
  const ask = (flag: '-u' | '-g'): number | undefined => {
    try {
      const out = execFileSync('id', [flag, '--', user], { encoding: 'utf8', timeout: ID_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] });
      const n = Number(out.trim());
      return out.trim() !== '' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const uid = ask('-u');
  const gid = ask('-g');
  return uid === undefined || gid === undefined ? undefined : { user, uid, gid, home: '/' };
}
