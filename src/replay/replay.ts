/**
 * Replay: rebuild a data folder's whole history with the scheduler's reducer and report what happened; with
 * policy changes, re-run the same story in simulated time under the recorded policy (the baseline) and
 * under the changed one (the what-if), and report both.
 *
 *   readHistory ──► applyEvent ──► ReportBuilder ──► the recorded report          (no changes)
 *                         └──────► RecordingExtractor ──► buildScript(no changes) ──► Simulation ──► baseline
 *                                                      └► buildScript(changes)    ──► Simulation ──► what-if
 *
 * Both columns of a what-if come from the simulation, so they differ only by the policy (the recording
 * itself differs from any simulation in timing details: agents' start delays, real cycle times).
 */
import type { ActorSystem } from '../actors/index.js';
import { codeOf, MusterError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { applyEvent, createState, type SchedulerEvent } from '../scheduler/index.js';
import { readHistory } from '../store/index.js';
import { describeChanges, hasChanges, NO_CHANGES, type PolicyChanges } from './changes.js';
import { RecordingExtractor, type Recording } from './recording.js';
import { ReportBuilder, type ReplayReport } from './report.js';
import { simulateReport } from './simulate.js';
import { buildScript } from './what-if.js';

/**
 * Time buckets of the utilisation rows. 10: one row of ten percentages fits a terminal line beside a site
 * name, and shows a day's shape (ramp-up, saturation, drain) without drowning it in noise.
 */
export const REPORT_BUCKETS = 10;

export interface ReplayOptions {
  /** The store's data folder (read-only: a running server may hold it). */
  readonly dir: string;
  readonly changes?: PolicyChanges;
  /** Default `REPORT_BUCKETS`. */
  readonly buckets?: number;
  readonly logger?: Logger;
  /** The actor system the simulations run in (default: one of their own each). */
  readonly system?: ActorSystem;
}

export interface HistorySummary {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly events: number;
  /** From the first event to the last. */
  readonly spanMs: number;
}

export type ReplayResult =
  | { readonly mode: 'recorded'; readonly history: HistorySummary; readonly recorded: ReplayReport }
  | { readonly mode: 'what-if'; readonly history: HistorySummary; readonly changes: readonly string[]; readonly baseline: ReplayReport; readonly whatIf: ReplayReport };

export async function replayHistory(options: ReplayOptions): Promise<ReplayResult> {
  const changes = options.changes ?? NO_CHANGES;
  const buckets = options.buckets ?? REPORT_BUCKETS;
  const { history, recorded, recording } = await rebuild(options.dir, buckets, options.logger);
  if (!hasChanges(changes)) return { mode: 'recorded', history, recorded };
  // Build both scripts first: a change the history cannot carry fails before any simulation runs.
  const baselineScript = buildScript(recording, NO_CHANGES);
  const whatIfScript = buildScript(recording, changes);
  const baseline = await simulateReport(baselineScript, recording.spanMs, buckets, options.system);
  const whatIf = await simulateReport(whatIfScript, recording.spanMs, buckets, options.system);
  return { mode: 'what-if', history, changes: describeChanges(changes), baseline, whatIf };
}

/** Reads the whole history (from seq 1) through the reducer: the recorded report and the recording. */
async function rebuild(dir: string, buckets: number, logger: Logger | undefined): Promise<{ history: HistorySummary; recorded: ReplayReport; recording: Recording }> {
  const reader = await readHistory(dir, logger ? { logger } : {});
  if (reader.firstSeq !== 1) {
    throw new MusterError(
      'MUSTER_ERR_HISTORY_TRIMMED',
      `the history in ${dir} starts at seq ${reader.firstSeq}: events 1..${reader.firstSeq - 1} were dropped (history retention, historyBytes); replay needs the whole history from seq 1`,
    );
  }
  const state = createState(false);
  const extractor = new RecordingExtractor();
  let builder: ReportBuilder | undefined;
  let events = 0;
  let lastSeq = 0;
  for await (const stored of reader.events()) {
    const e = stored.event as SchedulerEvent;
    builder ??= new ReportBuilder(e.at);
    try {
      if (e.kind === 'JobsRetired') builder.retiring(e, state);
      applyEvent(state, e);
    } catch (err) {
      throw new MusterError(codeOf(err) ?? 'MUSTER_ERR_INTERNAL', `event seq ${stored.seq} (${e.kind}): ${(err as Error).message}`, { cause: err });
    }
    builder.observe(e, state);
    extractor.observe(e);
    events++;
    lastSeq = stored.seq;
  }
  const recording = extractor.recording();
  const recorded = (builder ?? new ReportBuilder(0)).finish(state, recording.spanMs, buckets);
  return { history: { firstSeq: reader.firstSeq, lastSeq, events, spanMs: recording.spanMs }, recorded, recording };
}
