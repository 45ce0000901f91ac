import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { prepare, slot } from './prepared.js';
import { openStore, type Store } from './store.js';

let store: Store;
let dataDir: string;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringline-prepared-'));
  store = await openStore({ dataDir });
});
afterEach(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('prepare', () => {
  test('binds values by name, in whatever order the SQL needs them, on every run', async () => {
    const { db } = store;
    const insert = prepare<{ id: string; name: string; at: number }>(
      db.insertInto('groups').values({
        name: slot('name'),
        created_at: slot('at'),
        group_id: slot('id'),
      }),
    );
    await insert.run(db, { id: 'g1', name: 'one', at: 1 });
    await insert.run(db, { at: 2, id: 'g2', name: 'two' });
    const rows = await db.selectFrom('groups').selectAll().orderBy('group_id').execute();
    expect(rows).toEqual([
      { group_id: 'g1', name: 'one', created_at: 1 },
      { group_id: 'g2', name: 'two', created_at: 2 },
    ]);
  });

  test('refuses a query with a value that is not a slot', () => {
    const query = store.db.selectFrom('groups').selectAll().where('group_id', '=', 'literal');
    expect(() => prepare(query)).toThrow(/every value must be a slot\(\); found "literal"/);
  });
});
