/**
 * One pass from a submitted job's msgpack bytes to its `JobSpec`: the common, valid job is read and
 * checked straight from the frame, with no decoded object graph in between and no field paths built.
 *
 * It is a fast path, not a second validator. It accepts only what it can prove `validateJob` accepts
 * (ASCII strings, the usual fields, each within its bound, checked by the model's own primitives) and
 * builds the very spec `validateJob` would (same values, same field order). Anything else — a problem of
 * any kind, an unusual type or form (non-ASCII text, 64-bit or 32-bit-float numbers, `kind`, dependencies,
 * extended resources, object-form selectors), a repeated key — and it answers `undefined`: the caller then
 * decodes that one job and asks `validateJob`, whose answer (every problem with its path) is the one given.
 * So refusals are always the reference's; test/api/job-reader.test.ts checks acceptances against it on
 * random and adversarial jobs.
 *
 * The bytes are a view into the socket's buffer, valid only while the frame's handler runs: a `RawJob` is
 * read (or decoded) within that turn, never kept.
 */
import type { JobSpec, Mutable, Resources, Selector, TaskGroup } from '../model/index.js';
import { DEFAULT_BACKOFF_MS, isEnvKey, isName, isQueueName, limits, NO_ENV, parseCount, parseCpu, parseDuration, parseMemory, parseSelector, recurringWord, sharedRequest } from '../model/index.js';

/** A job of a submit frame, not yet decoded: its bytes `[start, end)` in the frame. */
export class RawJob {
  constructor(
    /** The whole frame (a Buffer view, for its native Latin-1 slice; one per frame, shared by its jobs). */
    readonly bytes: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}
}

/** Thrown inside the reader when the job is not one it proves valid; caught at the top. */
const BAIL: unique symbol = Symbol('bail');

const NOTHING = Buffer.alloc(0);
/** The frame being read (only during `readRawJob`: never kept past it, the socket reuses its memory). */
let b: Buffer = NOTHING;
let p = 0;

/** A map key's bytes compared with the expected keys' (no string made per key): the index of the match, or -1. */
function key(expected: readonly Uint8Array[]): number {
  const c = b[p++]!;
  if (c < 0xa0 || c > 0xbf) return bail(); // every expected key is a fixstr
  const n = c & 0x1f;
  const at = p;
  p += n;
  next: for (let k = 0; k < expected.length; k++) {
    const e = expected[k]!;
    if (e.length !== n) continue;
    for (let i = 0; i < n; i++) if (b[at + i] !== e[i]) continue next;
    return k;
  }
  return -1;
}

const keys = (...names: string[]): readonly Uint8Array[] => names.map((k) => Buffer.from(k, 'latin1'));
const JOB_KEYS = keys('name', 'queue', 'priority', 'tasks', 'constraints', 'strategy', 'distinctNodes', 'gang', 'array', 'retries', 'idempotencyKey');
const TASK_KEYS = keys('name', 'count', 'resources', 'command', 'args', 'shell', 'env', 'workingDir', 'timeLimit');
const RESOURCE_KEYS = keys('cpu', 'memory', 'gpu');
const CONSTRAINT_KEYS = keys('sites', 'selectors');
const RETRY_KEYS = keys('max', 'backoff');

/** The job's spec when the fast path proves it valid; `undefined` to ask `validateJob`. */
export function readRawJob(job: RawJob): JobSpec | undefined {
  b = job.bytes;
  p = job.start;
  try {
    const spec = readJob();
    return p === job.end ? spec : undefined;
  } catch (err) {
    if (err === BAIL) return undefined;
    throw err;
  } finally {
    b = NOTHING;
  }
}

function bail(): never {
  throw BAIL;
}

function mapLength(): number {
  const c = b[p++]!;
  if (c >= 0x80 && c <= 0x8f) return c & 0x0f;
  if (c === 0xde) return (p += 2, (b[p - 2]! << 8) | b[p - 1]!);
  return bail(); // a 32-bit count is far past every bound here
}

function arrayLength(): number {
  const c = b[p++]!;
  if (c >= 0x90 && c <= 0x9f) return c & 0x0f;
  if (c === 0xdc) return (p += 2, (b[p - 2]! << 8) | b[p - 1]!);
  return bail();
}

/** Whether the next value is a string (without reading it). */
function atString(): boolean {
  const c = b[p]!;
  return (c >= 0xa0 && c <= 0xbf) || c === 0xd9 || c === 0xda || c === 0xdb;
}

/** An ASCII string (UTF-8 beyond ASCII is left to the reference, whose decoder decides what it means). */
function string(): string {
  const c = b[p++]!;
  let n: number;
  if (c >= 0xa0 && c <= 0xbf) n = c & 0x1f;
  else if (c === 0xd9) n = b[p++]!;
  else if (c === 0xda) n = (p += 2, (b[p - 2]! << 8) | b[p - 1]!);
  else if (c === 0xdb) n = (p += 4, ((b[p - 4]! << 24) >>> 0) + ((b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!));
  else return bail();
  const end = p + n;
  if (end > b.length) return bail();
  for (let i = p; i < end; i++) if (b[i]! & 0x80) return bail();
  // ASCII is its own Latin-1: one native call makes a flat string (no pieces joined in JavaScript).
  const text = n <= SHORT ? short(p, n) : b.toString('latin1', p, end);
  p = end;
  return text;
}

/** Strings this short are made in JavaScript (one call, a flat string); longer ones by a native slice. */
const SHORT = 8;

function short(at: number, n: number): string {
  const f = String.fromCharCode;
  switch (n) {
    case 0:
      return '';
    case 1:
      return f(b[at]!);
    case 2:
      return f(b[at]!, b[at + 1]!);
    case 3:
      return f(b[at]!, b[at + 1]!, b[at + 2]!);
    case 4:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
    case 5:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!);
    case 6:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!);
    case 7:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!);
    default:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
  }
}

/** A number as msgpackr reads it; 64-bit integers and 32-bit floats are left to the reference. */
function number(): number {
  const c = b[p++]!;
  if (c <= 0x7f) return c;
  if (c >= 0xe0) return c - 0x100;
  switch (c) {
    case 0xcc:
      return b[p++]!;
    case 0xcd:
      return (p += 2, (b[p - 2]! << 8) | b[p - 1]!);
    case 0xce:
      return (p += 4, ((b[p - 4]! << 24) >>> 0) + ((b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!));
    case 0xd0:
      return (b[p++]! << 24) >> 24;
    case 0xd1:
      return (p += 2, (((b[p - 2]! << 8) | b[p - 1]!) << 16) >> 16);
    case 0xd2:
      return (p += 4, (b[p - 4]! << 24) | (b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!);
    case 0xcb: {
      const v = new DataView(b.buffer, b.byteOffset + p, 8).getFloat64(0);
      p += 8;
      return v;
    }
    default:
      return bail();
  }
}

function atNumber(): boolean {
  const c = b[p]!;
  return c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xce) || (c >= 0xd0 && c <= 0xd2) || c === 0xcb;
}

/** A string or a number: what the model's quantity and duration parsers take. */
function scalar(): string | number {
  return atString() ? string() : number();
}

function boolean(): boolean {
  const c = b[p++]!;
  if (c === 0xc2) return false;
  if (c === 0xc3) return true;
  return bail();
}

function integer(min: number, max: number): number {
  const v = number();
  if (!Number.isInteger(v) || v < min || v > max) return bail();
  return v;
}

function boundedString(max: number): string {
  const s = string();
  if (s.length > max) return bail();
  return s;
}

function name(): string {
  const s = boundedString(limits.MAX_NAME_LENGTH);
  if (!isName(s)) return bail();
  return s;
}

function parsed(result: { readonly ok: true; readonly value: number } | { readonly ok: false }): number {
  return result.ok ? result.value : bail();
}

/** Marks `bit` seen in `seen`; a key given twice is the reference's to judge (msgpackr keeps the last). */
function once(seen: number, bit: number): number {
  if (seen & bit) return bail();
  return seen | bit;
}

function readResources(): Resources {
  let cpu = 0;
  let memory = 0;
  let gpu = 0;
  let seen = 0;
  for (let n = mapLength(); n > 0; n--) {
    switch (key(RESOURCE_KEYS)) {
      case 0: // cpu
        seen = once(seen, 1);
        cpu = parsed(parseCpu(scalar()));
        break;
      case 1: // memory
        seen = once(seen, 2);
        memory = parsed(parseMemory(scalar(), 'up'));
        break;
      case 2: // gpu
        seen = once(seen, 4);
        gpu = parsed(parseCount(scalar()));
        break;
      default:
        return bail();
    }
  }
  return sharedRequest(cpu, memory, gpu);
}

/**
 * A list of words (a command's, its arguments), each the process's shared copy when it recurs. Made at its
 * length: an array grown by `push` keeps room for 17 elements, which a pending job would hold for its life.
 */
function stringList(maxItems: number, maxLength: number): string[] {
  const n = arrayLength();
  if (n > maxItems) return bail();
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = recurringWord(boundedString(maxLength));
  return out;
}

function readEnv(): Record<string, string> {
  const n = mapLength();
  if (n > limits.MAX_ENV_VARS) return bail();
  const env: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const key = string();
    if (key.length > limits.MAX_ENV_KEY_LENGTH || !isEnvKey(key) || key === '__proto__' || Object.hasOwn(env, key)) return bail();
    env[key] = boundedString(limits.MAX_ENV_VALUE_BYTES); // ASCII: characters are bytes
  }
  return env;
}

function readTask(index: number): TaskGroup {
  let seen = 0;
  let groupName: string | undefined;
  let count = 1;
  let resources: Resources | undefined;
  let words: string[] | undefined;
  let command: string | undefined;
  let args: string[] | undefined;
  let shell = false;
  let env: Record<string, string> | undefined;
  let workingDir: string | undefined;
  let timeLimitMs: number | undefined;
  for (let n = mapLength(); n > 0; n--) {
    switch (key(TASK_KEYS)) {
      case 0: // name
        seen = once(seen, 1);
        groupName = name();
        break;
      case 1: // count
        seen = once(seen, 2);
        count = integer(1, limits.MAX_TASKS_PER_JOB);
        break;
      case 2: // resources
        seen = once(seen, 4);
        resources = readResources();
        break;
      case 3: // command
        seen = once(seen, 8);
        if (atString()) command = recurringWord(boundedString(limits.MAX_COMMAND_BYTES));
        else words = stringList(limits.MAX_COMMAND_ARGS + 1, limits.MAX_COMMAND_BYTES);
        break;
      case 4: // args
        seen = once(seen, 16);
        args = stringList(limits.MAX_COMMAND_ARGS, limits.MAX_COMMAND_BYTES);
        break;
      case 5: // shell
        seen = once(seen, 32);
        shell = boolean();
        break;
      case 6: // env
        seen = once(seen, 64);
        env = readEnv();
        break;
      case 7: // workingDir
        seen = once(seen, 128);
        workingDir = boundedString(limits.MAX_PATH_LENGTH);
        break;
      case 8: // timeLimit
        seen = once(seen, 256);
        timeLimitMs = parsed(parseDuration(scalar()));
        if (timeLimitMs === 0) return bail();
        break;
      default:
        return bail();
    }
  }
  if (resources === undefined) return bail();
  // The command: a list of words (program first, no args beside it), or a string with optional args.
  if (words !== undefined) {
    if (args !== undefined || words.length === 0) return bail();
    command = words[0]!;
    args = words.slice(1);
  } else if (command === undefined) {
    return bail();
  }
  args ??= [];
  if (command.trim() === '') return bail();
  let bytes = command.length; // ASCII: characters are bytes
  for (let i = 0; i < args.length; i++) bytes += args[i]!.length;
  if (bytes > limits.MAX_COMMAND_BYTES) return bail();
  const group: Mutable<TaskGroup> = { name: groupName ?? (index === 0 ? 'main' : `group-${index}`), count, resources, command, args, shell, env: env ?? NO_ENV };
  if (workingDir !== undefined) group.workingDir = workingDir;
  if (timeLimitMs !== undefined) group.timeLimitMs = timeLimitMs;
  return group;
}

function readTasks(): TaskGroup[] {
  const n = arrayLength();
  if (n === 0 || n > limits.MAX_TASK_GROUPS) return bail();
  const tasks = new Array<TaskGroup>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const group = readTask(i);
    total += group.count;
    tasks[i] = group;
  }
  if (total > limits.MAX_TASKS_PER_JOB) return bail();
  if (n > 1) {
    const names = new Set<string>();
    for (const t of tasks) {
      if (names.has(t.name)) return bail();
      names.add(t.name);
    }
  }
  return tasks;
}

function readConstraints(): { sites: string[]; selectors: Selector[] } {
  const sites: string[] = [];
  const selectors: Selector[] = [];
  let seen = 0;
  for (let n = mapLength(); n > 0; n--) {
    switch (key(CONSTRAINT_KEYS)) {
      case 0: { // sites
        seen = once(seen, 1);
        const count = arrayLength();
        if (count > limits.MAX_SITES_PER_JOB) return bail();
        for (let i = 0; i < count; i++) sites.push(name());
        break;
      }
      case 1: { // selectors
        seen = once(seen, 2);
        const count = arrayLength();
        if (count > limits.MAX_SELECTORS) return bail();
        for (let i = 0; i < count; i++) {
          const selector = parseSelector(string());
          if (!selector.ok) return bail();
          selectors.push(selector.value);
        }
        break;
      }
      default:
        return bail();
    }
  }
  return { sites, selectors };
}

function readRetries(): { max: number; backoffMs: number } {
  let max = 0;
  let backoffMs = DEFAULT_BACKOFF_MS;
  let seen = 0;
  for (let n = mapLength(); n > 0; n--) {
    switch (key(RETRY_KEYS)) {
      case 0: // max
        seen = once(seen, 1);
        max = integer(0, limits.MAX_RETRIES);
        break;
      case 1: // backoff
        seen = once(seen, 2);
        backoffMs = parsed(parseDuration(scalar()));
        break;
      default:
        return bail();
    }
  }
  return { max, backoffMs };
}

function readJob(): JobSpec {
  let seen = 0;
  let jobName: string | undefined;
  let queue: string | undefined;
  let priority = 0;
  let tasks: TaskGroup[] | undefined;
  let constraints: { sites: string[]; selectors: Selector[] } | undefined;
  let strategy: 'binpack' | 'spread' = 'binpack';
  let distinctNodes = false;
  let gang = false;
  let array: number | undefined;
  let retries: { max: number; backoffMs: number } | undefined;
  let idempotencyKey: string | undefined;
  for (let n = mapLength(); n > 0; n--) {
    switch (key(JOB_KEYS)) {
      case 0: // name
        seen = once(seen, 1);
        jobName = name();
        break;
      case 1: // queue
        seen = once(seen, 2);
        queue = string();
        if (!isQueueName(queue)) return bail();
        break;
      case 2: // priority
        seen = once(seen, 4);
        priority = integer(-limits.MAX_PRIORITY, limits.MAX_PRIORITY);
        break;
      case 3: // tasks
        seen = once(seen, 8);
        tasks = readTasks();
        break;
      case 4: // constraints
        seen = once(seen, 16);
        constraints = readConstraints();
        break;
      case 5: { // strategy
        seen = once(seen, 32);
        const s = string();
        if (s !== 'binpack' && s !== 'spread') return bail();
        strategy = s;
        break;
      }
      case 6: // distinctNodes
        seen = once(seen, 64);
        distinctNodes = boolean();
        break;
      case 7: // gang
        seen = once(seen, 128);
        gang = boolean();
        break;
      case 8: // array
        seen = once(seen, 256);
        array = integer(1, limits.MAX_ARRAY_SIZE);
        break;
      case 9: // retries
        seen = once(seen, 512);
        retries = readRetries();
        break;
      case 10: // idempotencyKey
        seen = once(seen, 1024);
        idempotencyKey = boundedString(limits.MAX_IDEMPOTENCY_KEY_LENGTH);
        if (idempotencyKey === '') return bail();
        break;
      default:
        return bail(); // `kind`, `dependencies`, unknown fields: the reference reads or refuses them
    }
  }
  if (queue === undefined || tasks === undefined) return bail();
  // The field order of `readJob` (src/model/job.ts), so both give specs of one hidden class.
  const spec: Mutable<JobSpec> = {
    queue,
    priority,
    tasks,
    constraints: constraints ?? { sites: [], selectors: [] },
    strategy,
    distinctNodes,
    gang,
    dependencies: [],
    retries: retries ?? { max: 0, backoffMs: DEFAULT_BACKOFF_MS },
  };
  if (jobName !== undefined) spec.name = jobName;
  if (array !== undefined) spec.array = array;
  if (idempotencyKey !== undefined) spec.idempotencyKey = idempotencyKey;
  return spec;
}
