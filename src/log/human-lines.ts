/**
 * Log lines for a person at a terminal: one line per record, `HH:MM:SS.mmm LEVEL component: message
 * key=value ...`, from the JSON record pino writes (already redacted). What `muster server` and `muster start`
 * print on stderr when it is a terminal, or with `--log-format human`; JSON lines are for machines.
 */
import type { DestinationStream } from 'pino';

/** pino's numeric levels, by name as a person reads them. */
const LEVEL_NAMES: ReadonlyMap<number, string> = new Map([
  [10, 'TRACE'],
  [20, 'DEBUG'],
  [30, 'INFO'],
  [40, 'WARN'],
  [50, 'ERROR'],
  [60, 'FATAL'],
]);

/** Fields every record has, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** A field's value as one word: strings bare unless they hold spaces, errors by their message. */
function word(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value && typeof (value as { message: unknown }).message === 'string') return JSON.stringify((value as { message: string }).message);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON record as a human line (a line that is not JSON is passed through). */
export function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES.get(record['level'] as number) ?? String(record['level']);
  const name = typeof record['name'] === 'string' ? `${record['name']}: ` : '';
  const fields = Object.entries(record)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${word(value)}`);
  return [time, level.padEnd(5), `${name}${String(record['msg'] ?? '')}`, ...fields].filter((part) => part !== '').join(' ');
}

/** A pino destination that writes human lines to `write` (stderr by default). */
export function humanDestination(write: (text: string) => void = (text) => void process.stderr.write(text)): DestinationStream {
  return {
    write(json: string): void {
      write(`${humanLine(json)}\n`);
    },
  };
}
