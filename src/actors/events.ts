/**
 * What the runtime publishes about itself. Events are rare (failures, restarts, lost messages), never one
 * per delivered message, so they go through an ordinary listener list; worker hosts forward theirs to the
 * main thread, where `ActorSystem.onEvent` listeners see the events of every host.
 */
import type { ErrorCode, WireError } from '../errors/index.js';
import type { Directive } from './supervision.js';
import type { AnyRef } from './ref.js';

export type ActorEvent =
  | {
      readonly kind: 'supervision';
      readonly actor: AnyRef;
      readonly name: string;
      /** What was done; `stop` with `budgetExhausted` when a restart was refused. */
      readonly directive: Directive;
      readonly budgetExhausted: boolean;
      readonly error: WireError;
    }
  | { readonly kind: 'dead-letter'; readonly to: AnyRef; readonly code: ErrorCode; readonly messageKind: string }
  | { readonly kind: 'actor-stopped'; readonly actor: AnyRef; readonly name: string; readonly reason: string }
  | { readonly kind: 'host-died'; readonly host: number; readonly cause: string; readonly actors: number }
  | { readonly kind: 'host-restarted'; readonly host: number; readonly incarnation: number; readonly actors: number }
  | { readonly kind: 'host-failed'; readonly host: number; readonly cause: string };

export type ActorEventListener = (event: ActorEvent) => void;

/** The `kind` of a message, for dead-letter events (the message itself is not kept). */
export function kindOf(message: unknown): string {
  const kind = (message as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kind : typeof message;
}
