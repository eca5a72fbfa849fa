// The node agent. Today: the process executor (./executor). Registration, heartbeats and the connection to
// /v1/agent come next and are exported from here too. See README.md.
export * from './executor/index.js';
