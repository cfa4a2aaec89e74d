// The Argo CD health check and resource actions, run by a real Lua 5.1 interpreter (the Lua Argo CD embeds)
// against the fixtures of deploy/argocd in Argo CD's own test format (health_test.yaml, action_test.yaml).
import { beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { load } from 'js-yaml';

const DIR = join('deploy', 'argocd');
let lua = '';

// The first run on a machine may install the interpreter with apt-get.
beforeAll(() => {
  lua = execFileSync('bash', ['scripts/ensure-tool.sh', 'lua5.1', 'lua5.1'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
}, 300_000);

/** A JSON value as a Lua table constructor. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`)
    .join(', ')}}`;
}

// Serialises a Lua table back to JSON (arrays are tables with 1..n keys).
const LUA_JSON = `
local function enc(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" or t == "number" then return tostring(v) end
  if t == "string" then return string.format("%q", v):gsub("\\\\\\n", "\\\\n") end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n > 0 and #v == n then
    local parts = {}
    for i = 1, n do parts[i] = enc(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%q", k) .. ":" .. enc(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
`;

function run(script: string, obj: unknown): unknown {
  const program = `${LUA_JSON}\nobj = ${toLua(obj)}\nlocal result = (function()\n${script}\nend)()\nprint(enc(result))\n`;
  const out = execFileSync(lua, ['-'], { input: program, encoding: 'utf8' });
  return JSON.parse(out);
}

function fixture(base: string, path: string): unknown {
  return load(readFileSync(join(base, path), 'utf8'));
}

describe('Argo CD health check', () => {
  const tests = (
    load(readFileSync(join(DIR, 'health_test.yaml'), 'utf8')) as {
      tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
    }
  ).tests;
  const script = readFileSync(join(DIR, 'health.lua'), 'utf8');
  for (const t of tests) {
    it(`${t.inputPath} is ${t.healthStatus.status}`, () => {
      assert.deepEqual(run(script, fixture(DIR, t.inputPath)), t.healthStatus);
    });
  }
});

describe('Argo CD actions', () => {
  const actionsDir = join(DIR, 'actions');
  const spec = load(readFileSync(join(actionsDir, 'action_test.yaml'), 'utf8')) as {
    discoveryTests: { inputPath: string; result: { name: string; disabled: boolean }[] }[];
    actionTests: { action: string; inputPath: string; expectedOutputPath: string }[];
  };
  const discovery = readFileSync(join(actionsDir, 'discovery.lua'), 'utf8');
  for (const t of spec.discoveryTests) {
    it(`discovery for ${t.inputPath}`, () => {
      const got = run(discovery, fixture(actionsDir, t.inputPath)) as Record<string, { disabled: boolean }>;
      const actions = Object.entries(got)
        .map(([name, a]) => ({ name, disabled: a.disabled }))
        .sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(actions, t.result);
    });
  }
  for (const t of spec.actionTests) {
    it(`${t.action} on ${t.inputPath}`, () => {
      const script = readFileSync(join(actionsDir, t.action, 'action.lua'), 'utf8');
      const got = run(script, fixture(actionsDir, t.inputPath));
      assert.deepEqual(
        got,
        fixture(
          dirname(join(actionsDir, t.expectedOutputPath)),
          join('.', t.expectedOutputPath.split('/').pop()!),
        ),
      );
    });
  }
});
