// Golden CreateJobRequests, reviewed field for field against the original library's behaviour
// (spec/seed-behavior.md §2) and this project's departures. A change to any field fails here; regenerate only
// after reviewing the difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { translateSpec } from '../../../src/translate/index.js';
import { GOLDEN_CASES, GOLDEN_CONTEXT } from './goldenCases.js';

const dir = join(import.meta.dirname, 'golden');

for (const [name, spec] of Object.entries(GOLDEN_CASES)) {
  test(`golden request: ${name}`, () => {
    const result = translateSpec(spec, GOLDEN_CONTEXT);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const expected: unknown = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(result.submission)), expected);
  });
}
