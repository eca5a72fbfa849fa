/** The store contract (contract.ts) on the embedded store: a data folder of its own per case. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/index.js';
import { storeContract } from './contract.js';
import { countingFs } from './helpers.js';

const silent = createLogger({ name: 'store', level: 'silent' });

const root = mkdtempSync(join(tmpdir(), 'muster-contract-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;

storeContract(t, 'embedded', async () => {
  const dir = join(root, String(++folders));
  const { openFile, counts } = countingFs();
  // Small groups and segments, so that big appends and compaction have something to cut.
  const open = (): Promise<EmbeddedStore> => openEmbeddedStore({ dir, logger: silent, openFile, commitMaxBytes: 4096, segmentBytes: 4096 });
  let current = await open();
  return {
    get store() {
      return current;
    },
    reopen: async () => {
      await current.close();
      current = await open();
      return current;
    },
    writes: async () => counts.segmentWrites,
    // A group is never split: the embedded store writes any append with one write and one fsync.
    bigAppend: { events: 100, minWrites: 1 },
  };
});
