/**
 * Waits until a read of real state (a server query, a process's state) satisfies `holds`, polling every
 * 50 ms: the state ends the wait, the timeout only bounds a failure.
 */
export async function until<T>(what: string, read: () => Promise<T>, holds: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
