/**
 * Waits until a read of real state (a server query, a process's state) satisfies `holds`, polling every
 * 50 ms: the state ends the wait, the timeout only bounds a failure (long, so that a loaded machine does not
 * break a test that would pass). `context`, when given, is added to the failure's message: what the
 * processes involved said, so a failure seen once in CI can be read.
 */
export async function until<T>(what: string, read: () => Promise<T>, holds: (value: T) => boolean, timeoutMs = 60_000, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
