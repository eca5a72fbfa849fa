/**
 * The actor runtime: the only public door of src/actors (see README.md for the glossary and the flow).
 */
export type { Behaviour, ActorDefinition, ActorContext, DefinitionMessage } from './behaviour.js';
export { defineActor } from './behaviour.js';
export type { Outcome, Continue, Become, Reply, Stop } from './outcome.js';
export { same, next, become, reply, stop, assertNever } from './outcome.js';
export type { ActorRef, AnyRef, MessageOf } from './ref.js';
export { sameRef, isRef, formatRef } from './ref.js';
export type { OverflowPolicy, MailboxOptions } from './mailbox.js';
export { Mailbox, DEFAULT_MAILBOX_CAPACITY, PUSHED, DROPPED_OLDEST, REJECTED } from './mailbox.js';
export type { PushResult } from './mailbox.js';
export { RingBuffer } from './ring-buffer.js';
export type { Directive, SupervisionOptions } from './supervision.js';
export { RestartBudget, DEFAULT_SUPERVISION, DEFAULT_MAX_RESTARTS, DEFAULT_RESTART_WINDOW_MS } from './supervision.js';
export type { ActorEvent, ActorEventListener } from './events.js';
export type { Producer, ProducerSpec, ProducerFunction } from './producer.js';
export { producer } from './producer.js';
export { siblingModule, workerEntry } from './runtime-files.js';
export type { HostStats } from './host.js';
export type { ActorStats } from './cells.js';
export { MAX_TURNS_PER_TICK } from './turns.js';
export { MAX_BATCH_MESSAGES } from './peer-links.js';
export type { HostAdmin } from './admin.js';
export type { ActorSystemOptions, HostStatus } from './system.js';
export { HOST_RESTARTS_NAME } from './restart-counts.js';
export { ActorSystem, createActorSystem, defaultWorkerCount, DEFAULT_ASK_TIMEOUT_MS, DEFAULT_ADMIN_TIMEOUT_MS } from './system.js';
export type { TestKit, SentMessage, TestTimer } from './test-kit.js';
export { testKit } from './test-kit.js';
export type { CpuTask, CpuTaskResult } from './cpu-tasks.js';
export type { CpuPoolOptions } from './cpu-pool.js';
export { CpuPool, createCpuPool, cpuPool, runPooled, runExport, encodeSnapshot, decodeSnapshot, closeCpuPool, defaultPoolThreads, DEFAULT_POOL_QUEUE } from './cpu-pool.js';
