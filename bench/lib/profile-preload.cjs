// Preloaded (NODE_OPTIONS=--require) into every Node process of a profiled benchmark run (scripts/bench.mjs
// --profile), when MUSTER_BENCH_PROFILE_DIR names the folder the profiles go to.
//
// Why a preload and not `--cpu-prof` in NODE_OPTIONS: Node 20 refuses `--cpu-prof` there, and a child's
// command line is built by each benchmark's own code. So, in each process's main thread, this starts V8's
// sampling profiler through the inspector (the interval `--cpu-prof` uses) and writes the profile when the
// process exits, under the name `--cpu-prof` would give it (a process killed by a signal it does not handle
// leaves none, as with `--cpu-prof`). Worker threads get the real `--cpu-prof` flags: every Worker made from
// here on is started with them (Node writes a thread's profile even when it is terminated, which an exit
// hook inside the thread could not). It also records the process's command line (process-PID.json), so
// the index can say which profile is the server, the fleet or the load generator.
'use strict';
const threads = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.MUSTER_BENCH_PROFILE_DIR;
/** µs between samples: `--cpu-prof-interval`'s default. */
const SAMPLING_INTERVAL_US = 1000;

function stamp(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}.${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

if (dir && threads.isMainThread) {
  fs.writeFileSync(path.join(dir, `process-${process.pid}.json`), JSON.stringify({ pid: process.pid, ppid: process.ppid, argv: process.argv, execArgv: process.execArgv }));

  const Worker = threads.Worker;
  const profiled = (options, execArgv) => ({ ...options, execArgv: [...execArgv, '--cpu-prof', `--cpu-prof-dir=${dir}`] });
  // A Proxy rather than a subclass: construction is retried when Node refuses flags (below), which a
  // constructor cannot do after a failed super().
  threads.Worker = new Proxy(Worker, {
    construct(target, [filename, options = {}], newTarget) {
      const execArgv = options.execArgv ?? process.execArgv;
      try {
        return Reflect.construct(target, [filename, profiled(options, execArgv)], newTarget);
      } catch (err) {
        if (!err || err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
        // Naming execArgv makes Node check each flag, and a worker refuses V8 and process-wide ones
        // (--expose-gc, --max-old-space-size) that it would have inherited silently: they are set for the
        // whole process already, so leaving them out changes nothing for the thread.
        const refused = new Set(String(err.message).split('flags: ').slice(1).join('flags: ').split(', '));
        return Reflect.construct(target, [filename, profiled(options, execArgv.filter((a) => !refused.has(a)))], newTarget);
      }
    },
  });
  // ES modules import builtins' named exports from a copy: bring it up to date with the patched class.
  require('node:module').syncBuiltinESMExports();

  const { Session } = require('node:inspector');
  const session = new Session();
  session.connect();
  const started = new Date();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The main thread's session answers synchronously, so the profile is written before the process ends.
    session.post('Profiler.stop', (err, answer) => {
      if (err || !answer) return;
      fs.writeFileSync(path.join(dir, `CPU.${stamp(started)}.${process.pid}.0.000.cpuprofile`), JSON.stringify(answer.profile));
    });
  });
}
