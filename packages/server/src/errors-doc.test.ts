import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';

/** Like fastify's FST_ERR docs test: every registered code has a row in docs/errors.md. */
const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** `| 40000 | \`MALFORMED_MESSAGE\` | <when> |` rows, by code. */
const rows = new Map<number, { name: string; when: string }>();
for (const m of doc.matchAll(/^\|\s*(\d{5})\s*\|\s*`([A-Z_]+)`\s*\|\s*(.*?)\s*\|\s*$/gm)) {
  rows.set(Number(m[1]), { name: m[2]!, when: m[3]! });
}

describe('docs/errors.md', () => {
  test.each(Object.entries({ ...ServerErrorCode, ...SdkErrorCode }))(
    'lists %s (%i) with its name and when',
    (name, code) => {
      const row = rows.get(code);
      expect(row, `no row for ${code} ${name}`).toBeDefined();
      expect(row!.name).toBe(name);
      expect(row!.when.length).toBeGreaterThan(10);
    },
  );

  test('lists no code that does not exist', () => {
    const known = new Set<number>([
      ...Object.values(ServerErrorCode),
      ...Object.values(SdkErrorCode),
    ]);
    expect([...rows.keys()].filter((c) => !known.has(c))).toEqual([]);
  });
});
