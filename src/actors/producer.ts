/**
 * Producers: how an actor is described so that another thread can build it.
 *
 * A behaviour is a function, and functions (with the closures they capture) cannot cross a thread
 * boundary: structured clone refuses them, and even if it did not, a closure's captured state lives in the
 * heap of the thread that made it. And a worker host that dies must be able to build its actors *again*,
 * after the thread (and anything handed to it) is gone. So an actor for a worker host is named by a recipe
 * that is plain data: the URL of an ES module, the name of an export, and serializable arguments. The
 * export is a function `(args) → ActorDefinition`; the worker imports the module (once, cached by the
 * module system) and calls it. The main thread keeps the recipe of every actor it spawned on a worker, and
 * a restarted worker receives them all in its boot data and rebuilds them under the same ids.
 *
 * The module URL must work in the worker: use `siblingModule(import.meta.url, 'name')`, which gives the
 * same extension as the calling module (`.ts` under tsx, `.js` in dist).
 */
import { MusterError } from '../errors/index.js';
import type { ActorDefinition, DefinitionMessage } from './behaviour.js';

/** The plain-data form that crosses threads. */
export interface ProducerSpec {
  readonly module: string;
  readonly export: string;
  readonly args: unknown;
}

declare const producerTypes: unique symbol;

/** A typed handle on a producer export: `A` its arguments, `M` the messages of the actors it builds. */
export interface Producer<A, M> {
  readonly module: string;
  readonly export: string;
  readonly [producerTypes]?: (args: A) => M;
}

/** A function a producer module exports. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ProducerFunction = (args: any) => ActorDefinition<any, any>;

/**
 * Names the export `exportName` of module `module`; type it with the export itself:
 * `producer<typeof makeCounter>(siblingModule(import.meta.url, 'counter'), 'makeCounter')`.
 */
export function producer<F extends ProducerFunction>(module: string | URL, exportName: string): Producer<Parameters<F>[0], DefinitionMessage<ReturnType<F>>> {
  return { module: String(module), export: exportName };
}

export function producerSpec<A, M>(p: Producer<A, M>, args: A): ProducerSpec {
  return { module: p.module, export: p.export, args };
}

/** Imports the module and builds the definition; every failure is `MUSTER_ERR_PRODUCER_FAILED`. */
export async function loadDefinition(spec: ProducerSpec): Promise<ActorDefinition<unknown, unknown>> {
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = (await import(spec.module)) as Record<string, unknown>;
  } catch (err) {
    throw new MusterError('MUSTER_ERR_PRODUCER_FAILED', `cannot import producer module ${spec.module}: ${(err as Error).message}`, { cause: err });
  }
  const fn = moduleExports[spec.export];
  if (typeof fn !== 'function') throw new MusterError('MUSTER_ERR_PRODUCER_FAILED', `${spec.module} has no function export ${JSON.stringify(spec.export)}`);
  let definition: unknown;
  try {
    definition = (fn as ProducerFunction)(spec.args);
  } catch (err) {
    throw new MusterError('MUSTER_ERR_PRODUCER_FAILED', `producer ${spec.export} threw: ${(err as Error).message}`, { cause: err });
  }
  const d = definition as Partial<ActorDefinition<unknown, unknown>> | null;
  if (d === null || typeof d !== 'object' || typeof d.behaviour !== 'function' || typeof d.initial !== 'function' || typeof d.name !== 'string') {
    throw new MusterError('MUSTER_ERR_PRODUCER_FAILED', `producer ${spec.export} did not return an actor definition`);
  }
  return d as ActorDefinition<unknown, unknown>;
}
