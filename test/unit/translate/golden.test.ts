// Golden CreateJobRequests, reviewed field for field against the original library's behaviour
// (the original library's request layout) and this project's departures. A change to any field fails here; regenerate only
// after reviewing the difference: `npx vitest run --project unit -u test/unit/translate/golden.test.ts`
// rewrites the files of golden/, and `git diff` shows what changed.
import { expect, test } from 'vitest';
import assert from 'node:assert/strict';
import { translateSpec } from '../../../src/translate/index.js';
import { GOLDEN_CASES, GOLDEN_CONTEXT } from './goldenCases.js';

test.each(Object.entries(GOLDEN_CASES))('golden request: %s', async (name, spec) => {
  const result = translateSpec(spec, GOLDEN_CONTEXT);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  // The files hold the submission as JSON.stringify writes it with two-space indentation.
  await expect(`${JSON.stringify(result.submission, null, 2)}\n`).toMatchFileSnapshot(`golden/${name}.json`);
});
