// The node agent: the process executor (./executor) that runs tasks as real child processes, the link to
// the control plane (/v1/agent), and the simulated fleet. See README.md.
export * from './executor/index.js';
export type { AttemptId, RunningAttempt, StartCommand, KillCommand, LogsRequest, EndReport, NodeRegistration, LinkOwner, LinkOptions, OutputAnswer, OutputPiece } from './link.js';
export { AgentLink } from './link.js';
export { OutputShipper, OUTBOX_FOLDER } from './output-shipper.js';
export type { ShipperOptions } from './output-shipper.js';
export type { SimFleetOptions, FleetStats } from './sim-fleet.js';
export { SimFleet, simulatedDuration } from './sim-fleet.js';
export { agentUrls, AgentRoute, ELECTION_ROUND_MAX_MS } from './endpoints.js';
export type { Refusal } from './endpoints.js';
export type { AgentOptions } from './agent.js';
export { Agent } from './agent.js';
