/**
 * A V8 CPU profile (`.cpuprofile`, what `node --cpu-prof` writes) as a flame graph's tree: each node's value
 * is the sampled time (µs) spent in it and below it, children of one parent with the same frame merged.
 * Sample i lasts until sample i+1 (V8 records the delta before each sample), the last one until the
 * profile's end. Idle time (the `(idle)` frame: the event loop waiting) is left out of the tree and
 * reported beside it, so the graph shows work. Pure: the page around it is flame-page.ts.
 */

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface FlameNode {
  readonly name: string;
  value: number;
  readonly children: FlameNode[];
}

export interface FlameTree {
  /** The work: every frame but `(idle)`, its value the busy time in µs. */
  readonly root: FlameNode;
  /** Wall time the profile covers, µs. */
  readonly totalMicros: number;
  readonly idleMicros: number;
  readonly samples: number;
  /** Self time (µs) by frame name, largest first. */
  readonly self: ReadonlyArray<{ readonly name: string; readonly micros: number }>;
}

/** `functionName url:line` with `root` taken off file URLs and paths (`(anonymous)` for a nameless function). */
export function frameName(frame: CallFrame, root = ''): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  let where = frame.url.startsWith('file://') ? decodeURIComponent(frame.url.slice('file://'.length)) : frame.url;
  if (root && where.startsWith(`${root}/`)) where = where.slice(root.length + 1);
  return `${fn} ${where}:${frame.lineNumber + 1}`;
}

/** Self time of each profile node, µs, by node id. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  const times = samples.map((_, i) => (at += deltas[i] ?? 0));
  for (let i = 0; i < samples.length; i++) {
    const until = i + 1 < samples.length ? times[i + 1]! : Math.max(profile.endTime, times[i]!);
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, until - times[i]!));
  }
  return self;
}

/** The flame graph tree of `profile`; `root` is taken off file paths in frame names. */
export function flameTree(profile: CpuProfile, options: { root?: string; title?: string } = {}): FlameTree {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const top = profile.nodes.find((n) => !childIds.has(n.id));
  if (!top) throw new Error('a CPU profile with no root node');
  const self = selfTimes(profile);
  const selfByName = new Map<string, number>();
  let idleMicros = 0;

  // Iterative (a deep recursion in the profiled program must not overflow this one's stack).
  const rootFlame: FlameNode = { name: options.title ?? 'all', value: 0, children: [] };
  const stack: Array<{ node: ProfileNode; into: FlameNode }> = (top.children ?? []).map((id) => ({ node: byId.get(id)!, into: rootFlame }));
  const visited: FlameNode[] = [];
  while (stack.length > 0) {
    const { node, into } = stack.pop()!;
    const mine = self.get(node.id) ?? 0;
    if (node.callFrame.functionName === '(idle)' && !node.callFrame.url) {
      idleMicros += mine;
      continue;
    }
    const name = frameName(node.callFrame, options.root);
    let flame = into.children.find((c) => c.name === name);
    if (!flame) {
      flame = { name, value: 0, children: [] };
      into.children.push(flame);
      visited.push(flame);
    }
    flame.value += mine;
    if (mine > 0) selfByName.set(name, (selfByName.get(name) ?? 0) + mine);
    for (const id of node.children ?? []) stack.push({ node: byId.get(id)!, into: flame });
  }
  // Values so far are self times: add each subtree's into its parent (children were created after parents).
  rootFlame.value += self.get(top.id) ?? 0;
  const parents = new Map<FlameNode, FlameNode>();
  for (const parent of [rootFlame, ...visited]) for (const child of parent.children) parents.set(child, parent);
  for (let i = visited.length - 1; i >= 0; i--) parents.get(visited[i]!)!.value += visited[i]!.value;
  prune(rootFlame);

  const deltas = profile.timeDeltas ?? [];
  return {
    root: rootFlame,
    totalMicros: Math.max(0, profile.endTime - profile.startTime),
    idleMicros,
    samples: deltas.length,
    self: [...selfByName].map(([name, micros]) => ({ name, micros })).sort((a, b) => b.micros - a.micros),
  };
}

/** Drops subtrees no sample fell in. */
function prune(node: FlameNode): void {
  for (let i = node.children.length - 1; i >= 0; i--) {
    if (node.children[i]!.value <= 0) node.children.splice(i, 1);
    else prune(node.children[i]!);
  }
}
