/**
 * Store fault injection: a testing facility for real processes, off unless `MUSTER_STORE_FAULTS` is set.
 * It wraps the file-system seam (file-system.ts): after a given number of successful calls, every later
 * write or fsync of the files the store opens fails with a real errno (`EIO`, `ENOSPC`), as a failing or
 * full disk does; the calls before it reach the real files unchanged. `muster server` reads the variable at
 * start and logs a warning naming the rules when it is set (README.md, "Fault injection").
 *
 *   MUSTER_STORE_FAULTS=RULE[,RULE]        RULE = OPERATION:ERRNO:AFTER
 *     OPERATION  write (a write to a file) | fsync (fdatasync or fsync, of a file or of the folder)
 *     ERRNO      EIO | ENOSPC
 *     AFTER      how many calls of that operation succeed first, counted over every file the store opens
 *
 *   MUSTER_STORE_FAULTS=fsync:EIO:40      the 41st fsync and every one after it fail with EIO
 *
 * A failed call stays failed (a disk that has failed once is not trusted again): every later call of the
 * operation fails too.
 */
import { constants } from 'node:os';
import { MusterError } from '../errors/index.js';
import type { OpenFile, StoreFile } from './file-system.js';

/** The environment variable `muster server` reads its fault rules from. */
export const STORE_FAULTS_ENV = 'MUSTER_STORE_FAULTS';

const OPERATIONS = ['write', 'fsync'] as const;
const ERRNOS = { EIO: 'i/o error', ENOSPC: 'no space left on device' } as const;

export type FaultOperation = (typeof OPERATIONS)[number];
export type FaultErrno = keyof typeof ERRNOS;

export interface StoreFault {
  readonly operation: FaultOperation;
  readonly errno: FaultErrno;
  /** Calls of `operation` that succeed before the first failure. */
  readonly after: number;
}

/** Reads `MUSTER_STORE_FAULTS`; an empty value is no faults. Bad rules: `MUSTER_ERR_INVALID_VALUE` naming the rule and its part. */
export function parseStoreFaults(text: string): readonly StoreFault[] {
  const faults: StoreFault[] = [];
  for (const rule of text.split(',').map((r) => r.trim())) {
    if (rule === '') continue;
    const bad = (what: string): MusterError => new MusterError('MUSTER_ERR_INVALID_VALUE', `${STORE_FAULTS_ENV}: rule ${JSON.stringify(rule)}: ${what} (write OPERATION:ERRNO:AFTER, e.g. fsync:EIO:40)`);
    const parts = rule.split(':');
    if (parts.length !== 3) throw bad(`expected 3 parts separated by ":", got ${parts.length}`);
    const [operation, errno, after] = parts as [string, string, string];
    if (!(OPERATIONS as readonly string[]).includes(operation)) throw bad(`OPERATION ${JSON.stringify(operation)} is not one of: ${OPERATIONS.join(', ')}`);
    if (!Object.hasOwn(ERRNOS, errno)) throw bad(`ERRNO ${JSON.stringify(errno)} is not one of: ${Object.keys(ERRNOS).join(', ')}`);
    if (!/^\d{1,9}$/.test(after)) throw bad(`AFTER ${JSON.stringify(after)} is not a count of calls (0 to 999999999)`);
    if (faults.some((f) => f.operation === operation)) throw bad(`a second rule for ${operation}`);
    faults.push({ operation: operation as FaultOperation, errno: errno as FaultErrno, after: Number(after) });
  }
  return faults;
}

/** One line per rule, for the warning that says fault injection is on. */
export function describeStoreFault(fault: StoreFault): string {
  return `every ${fault.operation} after the first ${fault.after} fails with ${fault.errno}`;
}

/** An error shaped as Node's own file-system errors are (`code`, `errno`, `syscall`, `path`). */
function injectedError(errno: FaultErrno, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: ${ERRNOS[errno]}, ${syscall} '${path}' (injected by ${STORE_FAULTS_ENV})`), {
    code: errno,
    errno: -constants.errno[errno],
    syscall,
    path,
  });
}

/**
 * `openFile` with the faults injected into the files it opens. `injected` hears of the first failure each
 * rule causes (which file, which call), so the caller can say so once.
 */
export function injectStoreFaults(openFile: OpenFile, faults: readonly StoreFault[], injected?: (fault: StoreFault, path: string, syscall: string) => void): OpenFile {
  if (faults.length === 0) return openFile;
  const rules = faults.map((fault) => ({ fault, calls: 0 }));
  const rule = (operation: FaultOperation): (typeof rules)[number] | undefined => rules.find((r) => r.fault.operation === operation);
  /** Counts a call; throws the rule's error once the call is past its `after`. */
  const check = (operation: FaultOperation, syscall: string, path: string): void => {
    const r = rule(operation);
    if (r === undefined || r.calls++ < r.fault.after) return;
    if (r.calls === r.fault.after + 1) injected?.(r.fault, path, syscall);
    throw injectedError(r.fault.errno, syscall, path);
  };
  return async (path, flags) => {
    const file = await openFile(path, flags);
    const faulty: StoreFile = {
      write: async (buffer, offset, length, position) => {
        check('write', 'write', path);
        return file.write(buffer, offset, length, position);
      },
      datasync: async () => {
        check('fsync', 'fdatasync', path);
        return file.datasync();
      },
      sync: async () => {
        check('fsync', 'fsync', path);
        return file.sync();
      },
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
    return faulty;
  };
}
