/**
 * The scheduler's event sink, observed: each batch goes to the real sink (the store) and, once it is
 * durable, to a listener with its first seq and how long the commit took. The gateway's listener feeds
 * the watch hub and the metrics; the server adds the snapshot trigger.
 *
 * Batches become durable in the order they were written (the store resolves appends in order, and an
 * in-memory sink is durable at once), so the listener sees the log in order. A listener that throws is
 * logged and never fails the sink: the scheduler must not stop because a watcher's bookkeeping broke.
 */
import type { Logger } from '../log/index.js';
import type { EventSink, SchedulerEvent } from '../scheduler/index.js';

export type DurableListener = (events: readonly SchedulerEvent[], firstSeq: number, commitMs: number) => void;

export function observedSink(inner: EventSink, listener: DurableListener, log: Logger): EventSink {
  const notify = (events: readonly SchedulerEvent[], firstSeq: number, started: number): void => {
    try {
      listener(events, firstSeq, performance.now() - started);
    } catch (err) {
      log.error({ err, firstSeq }, 'a durable-event listener failed');
    }
  };
  return {
    write(events, firstSeq) {
      const started = performance.now();
      const written = inner.write(events, firstSeq);
      if (!written) {
        notify(events, firstSeq, started);
        return undefined;
      }
      return written.then(() => notify(events, firstSeq, started));
    },
  };
}
