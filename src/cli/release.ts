import { jobVerbCommand } from './job-verb.js';

export const releaseCommand = jobVerbCommand({
  name: 'release',
  done: 'released',
  summary: 'release held jobs: their pending tasks may be placed again',
  usage: `usage: muster release ID...

Releases each held job (like scontrol release): its pending tasks may be placed again. Releasing a job
that is not held changes nothing. Prints "released ID" per job; exits 1 if any job could not be released.`,
  apply: (client, job) => client.release(job),
});
