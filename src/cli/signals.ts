/** Resolves with the first SIGTERM or SIGINT the process gets (then listens no more): how long-running commands wait to stop. */
export function terminated(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
