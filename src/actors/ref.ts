/**
 * A ref names an actor wherever it lives: `{ host, id }`. It is a plain object, so it can travel inside
 * messages to any thread (structured clone keeps it as is) and be compared by value (`sameRef`).
 *
 * - `host` is the host index: 0 is the main thread, 1..N the worker hosts.
 * - `id` is unique within the host: ids below `LOCAL_ID_BASE` are given by the system to actors spawned
 *   through `ActorSystem.spawn` (they survive a worker restart: the actor is re-created under the same id,
 *   so refs held elsewhere stay valid); ids from `LOCAL_ID_BASE` up are given by a host to children spawned
 *   inside it (they die with their host incarnation); negative ids are the reply slots of pending asks;
 *   id 0 is the host itself (its system inbox).
 *
 * The message type is a phantom: it exists for the type checker only, so `tell(ref, msg)` checks `msg`.
 */
declare const messageType: unique symbol;

export interface ActorRef<M> {
  readonly host: number;
  readonly id: number;
  /** Phantom (never present at run time): the messages this actor accepts. */
  readonly [messageType]?: (message: M) => void;
}

/**
 * A ref to any actor, whatever it accepts (the phantom is contravariant, so `ActorRef<never>` is the top:
 * every `ActorRef<M>` is assignable to it). The runtime's internals use it; behaviours use `ActorRef<M>`.
 */
export type AnyRef = ActorRef<never>;

/** The messages an `ActorRef` accepts. */
export type MessageOf<R> = R extends ActorRef<infer M> ? M : never;

/** Id 0 on each host: its system inbox (watch registrations, signals, ask failures). */
export const HOST_INBOX_ID = 0;

/** First id a host gives to children it spawns itself; ids below are assigned by the system. */
export const LOCAL_ID_BASE = 2 ** 40;

/** Room for local ids of one host incarnation: a fresh incarnation never reuses the ids of the last one. */
export const LOCAL_IDS_PER_INCARNATION = 2 ** 32;

export function makeRef<M>(host: number, id: number): ActorRef<M> {
  return { host, id };
}

export function sameRef(a: AnyRef, b: AnyRef): boolean {
  return a.host === b.host && a.id === b.id;
}

export function isRef(value: unknown): value is AnyRef {
  return typeof value === 'object' && value !== null && typeof (value as { host?: unknown }).host === 'number' && typeof (value as { id?: unknown }).id === 'number';
}

export function formatRef(ref: AnyRef): string {
  return `${ref.host}/${ref.id}`;
}
