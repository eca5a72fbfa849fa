// The `muster` command line. Nothing imports this folder; bin/muster.js runs it.
export { run, version } from './main.js';
