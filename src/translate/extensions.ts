// The Batch-specific DRMAA2 extensions (extension.extensionList), parsed strictly: a value that does not
// parse is a path-qualified error, where the original library silently fell back to a default.
import { BATCH_MAX_RETRY_COUNT } from './limits.js';
import type { SpecError, Warning } from './specError.js';

export interface Extensions {
  prolog?: string;
  epilog?: string;
  spot: boolean;
  accelerator?: { type: string; count: number };
  tasksPerNode: number;
  dockerOptions?: string;
  secretEnv?: Record<string, string>;
  /** How often a task whose VM was preempted is run again; unset means the default of its machine. */
  preemptionRetries?: number;
}

const KNOWN = new Set([
  'prolog',
  'epilog',
  'spot',
  'accelerators',
  'tasks_per_node',
  'docker_options',
  'secret_env',
  'preemption_retries',
]);
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseExtensions(
  list: Record<string, string> | undefined,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): Extensions {
  const out: Extensions = { spot: false, tasksPerNode: 1 };
  for (const [key, value] of Object.entries(list ?? {})) {
    const at = `${path}.${key}`;
    if (typeof value !== 'string') {
      errors.push({ path: at, message: `expected a string, got ${typeof value}` });
      continue;
    }
    if (!KNOWN.has(key)) {
      warnings.push({
        path: at,
        message: 'unknown extension for Google Batch: ignored (it stays in DRMAA2_JOB_TEMPLATE)',
      });
      continue;
    }
    switch (key) {
      // An empty script is unset, as in the original library (Batch refuses a script runnable without text).
      case 'prolog':
        if (value !== '') out.prolog = value;
        break;
      case 'epilog':
        if (value !== '') out.epilog = value;
        break;
      case 'spot':
        if (TRUE.has(value)) out.spot = true;
        else if (!FALSE.has(value))
          errors.push({ path: at, message: `expected a boolean (true/false), got ${JSON.stringify(value)}` });
        break;
      case 'accelerators':
        out.accelerator = parseAccelerator(value, at, errors);
        break;
      case 'tasks_per_node':
        if (!/^[1-9]\d*$/.test(value))
          errors.push({ path: at, message: `expected a positive integer, got ${JSON.stringify(value)}` });
        else out.tasksPerNode = Number(value);
        break;
      case 'docker_options':
        out.dockerOptions = value;
        break;
      case 'secret_env':
        out.secretEnv = parseSecretEnv(value, at, errors);
        break;
      case 'preemption_retries':
        if (!/^(0|[1-9]\d*)$/.test(value))
          errors.push({
            path: at,
            message: `expected a whole number of retries from 0 to ${BATCH_MAX_RETRY_COUNT}, got ${JSON.stringify(value)}`,
          });
        else if (Number(value) > BATCH_MAX_RETRY_COUNT)
          errors.push({
            path: at,
            message: `at most ${BATCH_MAX_RETRY_COUNT} (Batch's limit of maxRetryCount), got ${value}`,
          });
        else out.preemptionRetries = Number(value);
        break;
    }
  }
  return out;
}

/** `N*type`, or a bare type meaning one, as the original library read it (a bad count is an error here,
 * where the original silently requested none). */
function parseAccelerator(value: string, at: string, errors: SpecError[]): Extensions['accelerator'] {
  const match = /^(?:([1-9]\d{0,2})\*)?([a-z0-9][a-z0-9-]*)$/.exec(value);
  if (!match) {
    errors.push({
      path: at,
      message: `expected N*type such as 1*nvidia-tesla-t4 (or a bare type for one), got ${JSON.stringify(value)}`,
    });
    return undefined;
  }
  return { count: match[1] ? Number(match[1]) : 1, type: match[2]! };
}

function parseSecretEnv(value: string, at: string, errors: SpecError[]): Record<string, string> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    errors.push({
      path: at,
      message: 'expected base64 of a JSON object {"ENV_NAME": "projects/p/secrets/s/versions/v"}',
    });
    return undefined;
  }
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (entries.some(([, v]) => typeof v !== 'string')) throw new Error('values must be strings');
    return Object.fromEntries(entries) as Record<string, string>;
  } catch (err) {
    errors.push({
      path: at,
      message: `expected base64 of a JSON object of Secret Manager paths: ${(err as Error).message}`,
    });
    return undefined;
  }
}
