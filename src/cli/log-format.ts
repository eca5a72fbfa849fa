/**
 * `--log-format human|json` of the commands that run for a long time (`muster server`, `muster start`):
 * human lines when stderr is a terminal (someone reads it), JSON lines otherwise (a supervisor or a log
 * collector reads it), unless the flag says which.
 */
import type { LogFormat } from '../log/index.js';
import { LOG_FORMATS } from '../log/index.js';

export const LOG_FORMAT_USAGE = `  --log-format human|json
                   log lines on stderr: human (one readable line per event; the default on a terminal)
                   or json (one JSON object per line; the default otherwise)`;

/** The format `flag` names, or the default for where stderr goes; a string is the complaint about a wrong value. */
export function chooseLogFormat(flag: string | undefined, stderrIsTerminal: boolean = process.stderr.isTTY === true): LogFormat | string {
  if (flag === undefined) return stderrIsTerminal ? 'human' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(flag)) return flag as LogFormat;
  return `--log-format ${flag}: expected one of ${LOG_FORMATS.join(', ')}`;
}
