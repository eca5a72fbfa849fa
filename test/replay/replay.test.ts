import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { run } from '../../src/cli/main.js';
import { createLogger } from '../../src/log/index.js';
import type { PolicyChanges, ReplayReport } from '../../src/replay/index.js';
import { formatJson, formatTables, NO_CHANGES, parseNodeChange, parseQueueField, parseQueueWeight, replayHistory } from '../../src/replay/index.js';
import { closeSharedSystem, sharedSystem } from '../helpers/scheduler.js';
import { recordHistory } from './record.js';

t.teardown(closeSharedSystem);

const quiet = createLogger({ name: 'replay', level: 'silent' });

const dir = t.testdir();
const recorded = await recordHistory(dir);

function changes(parts: Partial<PolicyChanges>): PolicyChanges {
  return { ...NO_CHANGES, ...parts };
}

function weight(text: string): PolicyChanges['queueWeights'][number] {
  const parsed = parseQueueWeight(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

async function replay(parts: Partial<PolicyChanges> = {}): Promise<Awaited<ReturnType<typeof replayHistory>>> {
  return replayHistory({ dir, changes: changes(parts), logger: quiet, system: await sharedSystem() });
}

function whatIfReports(result: Awaited<ReturnType<typeof replayHistory>>): { baseline: ReplayReport; whatIf: ReplayReport } {
  if (result.mode !== 'what-if') throw new Error('expected a what-if result');
  return result;
}

/** Captures what a command writes. */
function captureIo(): { io: { out(l: string): void; err(l: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

t.test('the recorded history: rebuilt from seq 1 across archived and live segments, reported', async (t) => {
  t.ok(existsSync(`${dir}/history`), 'the recording compacted into history/');
  const result = await replay();
  t.equal(result.mode, 'recorded');
  if (result.mode !== 'recorded') return;
  t.same(result.history, { firstSeq: 1, lastSeq: recorded.events, events: recorded.events, spanMs: result.history.spanMs });
  const report = result.recorded;
  const jobs = Object.values(report.jobs).reduce((a, b) => a + b, 0);
  t.equal(jobs, 305, 'every submitted job is counted once');
  t.ok(report.jobs.succeeded > 50 && report.jobs.pending > 50, `jobs ${JSON.stringify(report.jobs)}`);
  t.equal(report.jobs.cancelled, 1);
  t.same(report.queues.map((q) => [q.queue, q.submitted]), [['alpha', 154], ['beta', 151]]);
  const share = report.queues.map((q) => q.share ?? 0);
  t.ok(Math.abs((share[0] as number) + (share[1] as number) - 1) < 1e-9, 'shares add up to 1');
  const site = report.sites[0];
  t.equal(site?.site, 'a');
  t.equal(site?.utilisation.length, 10);
  t.ok((site?.meanUtilisation ?? 0) > 0.4, `site a utilisation ${site?.meanUtilisation}`);
  t.comment(formatTables(result));
});

t.test('replay is deterministic: the same history gives the same bytes, recorded and what-if', async (t) => {
  const [a, b] = [await replay(), await replay()];
  t.equal(formatTables(a), formatTables(b), 'tables');
  t.equal(formatJson(a), formatJson(b), 'JSON');
  const [c, d] = [await replay({ queueWeights: [weight('alpha=3')] }), await replay({ queueWeights: [weight('alpha=3')] })];
  t.equal(formatTables(c), formatTables(d), 'what-if tables');
  t.equal(formatJson(c), formatJson(d), 'what-if JSON');
});

t.test('the baseline re-runs the recording: a history the simulation recorded comes back the same', async (t) => {
  const recordedRun = await replay();
  const { baseline } = whatIfReports(await replay({ queueWeights: [weight('alpha=1')] }));
  t.same(baseline, recordedRun.mode === 'recorded' ? recordedRun.recorded : undefined, 'same jobs, waits, shares and utilisation');
});

t.test('raising a queue weight raises its cpu share in the what-if', async (t) => {
  const result = await replay({ queueWeights: [weight('alpha=3')] });
  const { baseline, whatIf } = whatIfReports(result);
  const share = (r: ReplayReport, q: string): number => r.queues.find((x) => x.queue === q)?.share ?? 0;
  t.ok(share(whatIf, 'alpha') - share(baseline, 'alpha') >= 0.1, `alpha: ${share(baseline, 'alpha').toFixed(3)} → ${share(whatIf, 'alpha').toFixed(3)}`);
  t.ok(share(whatIf, 'beta') < share(baseline, 'beta'), 'beta gives up what alpha gains');
  const wait = (r: ReplayReport, q: string): number => r.queues.find((x) => x.queue === q)?.wait?.p90Ms ?? 0;
  t.ok(wait(whatIf, 'beta') > wait(baseline, 'beta'), 'beta waits longer');
  t.comment(formatTables(result));
});

t.test('a guarantee, a limit and a borrowing limit in the what-if (--queue-set)', async (t) => {
  const field = (text: string): PolicyChanges['queueFields'][number] => {
    const parsed = parseQueueField(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.value;
  };
  const share = (r: ReplayReport, q: string): number => r.queues.find((x) => x.queue === q)?.share ?? 0;
  const promised = whatIfReports(await replay({ queueFields: [field('alpha:guaranteedShare=0.9')] }));
  t.ok(share(promised.whatIf, 'alpha') - share(promised.baseline, 'alpha') >= 0.1, `a guarantee raises alpha's share: ${share(promised.baseline, 'alpha').toFixed(3)} → ${share(promised.whatIf, 'alpha').toFixed(3)}`);
  const cappedRun = await replay({ queueFields: [field('alpha:guarantee.cpu=1'), field('alpha:borrowLimit.cpu=1')] });
  const capped = whatIfReports(cappedRun);
  t.ok(share(capped.whatIf, 'alpha') < share(capped.baseline, 'alpha') - 0.1, `a borrowing limit lowers it: ${share(capped.baseline, 'alpha').toFixed(3)} → ${share(capped.whatIf, 'alpha').toFixed(3)}`);
  t.match(formatTables(cappedRun), /--queue-set alpha:guarantee.cpu=1/, 'the report names the changes');
  await t.rejects(replay({ queueFields: [field('alpha:guaranteedShare=0.7'), field('beta:guaranteedShare=0.7')] }), { code: 'MUSTER_ERR_USAGE', message: /add up to 140% of the cluster/ });
});

t.test('spread instead of binpack keeps more nodes busy', async (t) => {
  const result = await replay({ strategy: 'spread' });
  const { baseline, whatIf } = whatIfReports(result);
  const busy = (r: ReplayReport): number => r.sites[0]?.busyNodes ?? 0;
  t.ok(busy(whatIf) - busy(baseline) >= 0.3, `busy nodes: ${busy(baseline).toFixed(2)} → ${busy(whatIf).toFixed(2)}`);
  t.comment(formatTables(result));
});

t.test('node changes: more nodes raise capacity and shorten waits; fewer and drained nodes do the opposite', async (t) => {
  const nodes = (...texts: string[]): PolicyChanges['nodes'] =>
    texts.map((text) => {
      const parsed = parseNodeChange(text);
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.value;
    });
  const more = whatIfReports(await replay({ nodes: nodes('site=a:+4') }));
  t.equal(more.whatIf.sites[0]?.nodes, 8);
  t.ok((more.whatIf.jobs.succeeded ?? 0) > (more.baseline.jobs.succeeded ?? 0), 'more jobs done');
  const fewer = whatIfReports(await replay({ nodes: nodes('site=a:-1', 'n0=drain') }));
  t.equal(fewer.whatIf.sites[0]?.nodes, 3);
  t.ok(fewer.whatIf.jobs.succeeded < fewer.baseline.jobs.succeeded, 'fewer jobs done');
  t.comment(JSON.stringify({ more: [more.baseline.jobs, more.whatIf.jobs], fewer: [fewer.baseline.jobs, fewer.whatIf.jobs] }));
});

t.test('bad flags are coded errors naming the flag', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--data', dir, '--queue-weight', 'alpha=x'], 2, /MUSTER_ERR_USAGE: --queue-weight alpha=x: write QUEUE=WEIGHT/],
    [['--data', dir, '--queue-weight', 'alpha=0'], 2, /MUSTER_ERR_USAGE: --queue-weight alpha=0: a weight must be above 0/],
    [['--data', dir, '--queue-weight', 'nosuch=2'], 2, /MUSTER_ERR_USAGE: --queue-weight nosuch=2: the history has no queue nosuch \(it has alpha, beta\)/],
    [['--data', dir, '--strategy', 'diagonal'], 2, /MUSTER_ERR_USAGE: --strategy diagonal: must be one of binpack, spread/],
    [['--data', dir, '--nodes', 'site=a:+x'], 2, /MUSTER_ERR_USAGE: --nodes site=a:\+x: write site=SITE:\+N/],
    [['--data', dir, '--nodes', 'site=zz:+1'], 2, /MUSTER_ERR_UNKNOWN_SITE: --nodes site=zz:\+1: no node of site zz/],
    [['--data', dir, '--nodes', 'site=a:-5'], 2, /MUSTER_ERR_USAGE: --nodes site=a:-5: site a has 4 nodes left/],
    [['--data', dir, '--nodes', 'n9=drain'], 2, /MUSTER_ERR_UNKNOWN_NODE: --nodes n9=drain: no node n9/],
    [['--data', dir, '-o', 'yaml'], 2, /MUSTER_ERR_USAGE: --output yaml: must be one of table, json/],
    [['--data', `${dir}/nope`], 2, /MUSTER_ERR_USAGE: --data .*nope: no such folder/],
    [[], 2, /MUSTER_ERR_USAGE: --data DIR is required/],
    [['--data', dir, '--frobnicate'], 2, /MUSTER_ERR_USAGE: Unknown option '--frobnicate'/],
  ];
  for (const [args, code, message] of cases) {
    const { io, out, err } = captureIo();
    t.equal(await run(['replay', ...args], io), code, args.join(' '));
    t.match(err[0], message, args.join(' '));
    t.same(out, [], 'nothing on stdout');
  }
});

t.test('a trimmed history is MUSTER_ERR_HISTORY_TRIMMED, naming the first seq kept', async (t) => {
  const trimmed = t.testdir();
  await recordHistory(trimmed, { historyBytes: 1 });
  await t.rejects(replayHistory({ dir: trimmed, logger: quiet }), { code: 'MUSTER_ERR_HISTORY_TRIMMED', message: /starts at seq (\d+): events 1\.\.\d+ were dropped/ });
  const { io, err } = captureIo();
  t.equal(await run(['replay', '--data', trimmed], io), 1);
  t.match(err[0], /^muster replay: MUSTER_ERR_HISTORY_TRIMMED: /);
});

const cli = fileURLToPath(new URL('../../bin/muster.js', import.meta.url));
const built = fileURLToPath(new URL('../../dist/cli/replay.js', import.meta.url));

t.test('the muster binary replays a data folder', { skip: existsSync(built) ? false : 'dist/ has no replay command (npm test builds it; run npm run build)' }, async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'replay', '--data', dir, '-o', 'json'], { env: { ...process.env, NODE_OPTIONS: '', MUSTER_LOG_LEVEL: 'warn' }, timeout: 120_000 });
  t.equal(stdout, `${formatJson(await replay())}\n`, 'the same output as in process');
  const tables = await promisify(execFile)(process.execPath, [cli, 'replay', '--data', dir], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 });
  t.match(tables.stdout, /^history: seq 1\.\.\d+ \(\d+ events\) over \d+\.\d s\n/);
});
