/** Fixture builders for placement tests: makeNode(0).cpu(8000).label('zone', 'a').build(). */
import type { NodeState, Resources, Selector, Strategy } from '../../src/model/index.js';
import { parseSelector } from '../../src/model/index.js';
import type { NodeChange, PlacementRequest, TaskRequest } from '../../src/placement/index.js';

export function res(parts: Partial<Omit<Resources, 'extended'>> & { extended?: Record<string, number> } = {}): Resources {
  return { cpu: parts.cpu ?? 0, memory: parts.memory ?? 0, gpu: parts.gpu ?? 0, extended: parts.extended ?? {} };
}

class NodeBuilder {
  #id: number;
  #cap = { cpu: 4000, memory: 8192, gpu: 0, extended: {} as Record<string, number> };
  #free: Resources | undefined;
  #labels: Record<string, string> = {};
  #state: NodeState = 'ready';
  constructor(id: number) {
    this.#id = id;
  }
  cpu(v: number): this {
    this.#cap.cpu = v;
    return this;
  }
  memory(v: number): this {
    this.#cap.memory = v;
    return this;
  }
  gpu(v: number): this {
    this.#cap.gpu = v;
    return this;
  }
  ext(name: string, v: number): this {
    this.#cap.extended[name] = v;
    return this;
  }
  free(r: Resources): this {
    this.#free = r;
    return this;
  }
  label(k: string, v: string): this {
    this.#labels[k] = v;
    return this;
  }
  state(s: NodeState): this {
    this.#state = s;
    return this;
  }
  build(): NodeChange {
    return {
      kind: 'add',
      node: { id: this.#id, capacity: { ...this.#cap, extended: { ...this.#cap.extended } }, labels: this.#labels, state: this.#state, ...(this.#free ? { free: this.#free } : {}) },
    };
  }
}

export const makeNode = (id: number): NodeBuilder => new NodeBuilder(id);

class JobBuilder {
  #tasks: TaskRequest[] = [];
  #selectors: Selector[] = [];
  #strategy: Strategy = 'binpack';
  #gang = false;
  #distinct = false;
  task(count: number, r: Partial<Omit<Resources, 'extended'>> & { extended?: Record<string, number> }): this {
    this.#tasks.push({ count, resources: res(r) });
    return this;
  }
  select(text: string): this {
    const parsed = parseSelector(text);
    if (!parsed.ok) throw new Error(parsed.message);
    this.#selectors.push(parsed.value);
    return this;
  }
  spread(): this {
    this.#strategy = 'spread';
    return this;
  }
  gang(): this {
    this.#gang = true;
    return this;
  }
  distinct(): this {
    this.#distinct = true;
    return this;
  }
  build(): PlacementRequest {
    return { tasks: this.#tasks, selectors: this.#selectors, strategy: this.#strategy, gang: this.#gang, distinctNodes: this.#distinct };
  }
}

export const makeJob = (): JobBuilder => new JobBuilder();
