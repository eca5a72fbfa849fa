/**
 * How a task's environment reaches its shim: on the shim's stdin, entries `KEY=VALUE\0`, closed by an
 * empty entry `\0`. Not the shim's own environment: the Node.js shim would obey a task's NODE_OPTIONS
 * itself, and the closing entry tells a whole launch from one cut short by the agent dying mid-write.
 */

/** The bytes for a shim's stdin; undefined when a key or value holds a NUL byte (no process can carry it). */
export function encodeEnvironment(env: Readonly<Record<string, string>>): Buffer | undefined {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (key.includes('\0') || value.includes('\0') || key.includes('=') || key === '') return undefined;
    parts.push(`${key}=${value}\0`);
  }
  parts.push('\0');
  return Buffer.from(parts.join(''), 'utf8');
}

/** The environment a shim read; undefined when the closing empty entry never came. */
export function decodeEnvironment(bytes: Buffer): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] === 0) return env;
    const end = bytes.indexOf(0, at);
    if (end < 0) return undefined;
    const entry = bytes.toString('utf8', at, end);
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    at = end + 1;
  }
  return undefined;
}
