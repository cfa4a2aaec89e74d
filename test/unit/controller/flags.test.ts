// The flags table is the one description of the controller's flags: commander's options come from it, and
// the README's Configuration table must say the same, row by row.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerController } from '../../../src/cli/controller.js';
import { parseConfig } from '../../../src/controller/config.js';
import { FLAGS } from '../../../src/controller/flags.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README's Configuration rows that name a flag: flag -> [variable, default, meaning]. */
function readmeRows(): Map<string, string[]> {
  const section = README.slice(README.indexOf('## Configuration'));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const match = /^\| `--([a-z-]+)` \|(.*)\|$/.exec(line);
    if (!match) continue;
    rows.set(
      match[1]!,
      match[2]!.split(' | ').map((cell) => cell.trim()),
    );
  }
  return rows;
}

describe('the flags table', () => {
  it('is the README Configuration table, row by row and in order', () => {
    const rows = readmeRows();
    assert.deepEqual(
      [...rows.keys()],
      FLAGS.map((f) => f.flag),
    );
    for (const spec of FLAGS) {
      assert.deepEqual(
        rows.get(spec.flag),
        [spec.env ? `\`${spec.env}\`` : '', spec.shownDefault, spec.meaning],
        `--${spec.flag}`,
      );
    }
  });

  it("makes the controller command's options, with their twins and defaults", () => {
    const program = new Command();
    registerController(program);
    const command = program.commands.find((c) => c.name() === 'controller')!;
    assert.deepEqual(
      command.options.map((o) => o.long),
      FLAGS.map((f) => `--${f.flag}`),
    );
    for (const spec of FLAGS) {
      const option = command.options.find((o) => o.long === `--${spec.flag}`)!;
      assert.equal(option.defaultValue, spec.default, `--${spec.flag} default`);
      if (spec.value) assert.equal(option.envVar, spec.env, `--${spec.flag} twin`);
      assert.deepEqual(option.argChoices, spec.choices ? [...spec.choices] : undefined);
    }
  });

  it('gives parseConfig the defaults the README shows', () => {
    const result = parseConfig({ project: 'p', location: 'l' }, {});
    assert.ok(result.ok);
    for (const spec of FLAGS.filter((f) => f.default !== undefined)) {
      assert.equal(spec.shownDefault, `\`${spec.default}\``, `--${spec.flag} shows its default`);
    }
    assert.equal(result.config.session, 'default');
    assert.equal(result.config.pollIntervalMs, 10_000);
    assert.equal(result.config.batchReadsPerMinute, 15_000);
  });

  it('a switch twin set to false stays off', () => {
    const result = parseConfig({ project: 'p', location: 'l' }, { DRMAA2_LEADER_ELECT: 'false' });
    assert.ok(result.ok);
    assert.equal(result.config.leaderElect, false);
  });
});
