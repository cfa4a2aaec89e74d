// Run-time type checks of a spec that arrived as JSON: whatever the input, translation reports
// path-qualified errors instead of throwing.
import type { SpecError } from './specError.js';

type Kind = 'string' | 'number' | 'boolean' | 'strings' | 'map' | 'extension' | 'time';

const TEMPLATE_FIELDS: Record<string, Kind> = {
  remoteCommand: 'string',
  args: 'strings',
  submitAsHold: 'boolean',
  reRunnable: 'boolean',
  jobEnvironment: 'map',
  workingDirectory: 'string',
  jobCategory: 'string',
  email: 'strings',
  emailOnStarted: 'boolean',
  emailOnTerminated: 'boolean',
  jobName: 'string',
  inputPath: 'string',
  outputPath: 'string',
  errorPath: 'string',
  joinFiles: 'boolean',
  reservationID: 'string',
  queueName: 'string',
  minSlots: 'number',
  maxSlots: 'number',
  priority: 'number',
  candidateMachines: 'strings',
  minPhysMemory: 'number',
  machineOs: 'string',
  machineArch: 'string',
  startTime: 'time',
  deadlineTime: 'time',
  stageInFiles: 'map',
  stageOutFiles: 'map',
  resourceLimits: 'map',
  accountingString: 'string',
  extension: 'extension',
};

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(kind: Kind, value: unknown, path: string, errors: SpecError[]): void {
  const fail = (expected: string): void => {
    errors.push({ path, message: `expected ${expected}` });
  };
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') fail('a string');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail('a non-negative integer');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      return;
    case 'strings':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail('a list of strings');
      return;
    case 'map':
      if (!isMap(value) || Object.values(value).some((v) => typeof v !== 'string')) fail('a map of strings');
      return;
    case 'time':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) fail('an RFC 3339 time');
      return;
    case 'extension':
      if (!isMap(value)) return fail('an object {extensionList: {...}}');
      if (value.extensionList !== undefined)
        check('map', value.extensionList, `${path}.extensionList`, errors);
      return;
  }
}

export function checkShape(spec: unknown, base: string): SpecError[] {
  const errors: SpecError[] = [];
  if (!isMap(spec)) return [{ path: base, message: 'expected an object' }];
  const template = spec.jobTemplate;
  if (!isMap(template))
    return [{ path: `${base}.jobTemplate`, message: 'required: a DRMAA2 JobTemplate object' }];
  for (const [key, value] of Object.entries(template)) {
    const kind = TEMPLATE_FIELDS[key];
    if (!kind) errors.push({ path: `${base}.jobTemplate.${key}`, message: 'unknown JobTemplate field' });
    else if (value !== undefined && value !== null) check(kind, value, `${base}.jobTemplate.${key}`, errors);
  }
  const array = spec.array;
  if (array !== undefined) {
    if (!isMap(array))
      errors.push({ path: `${base}.array`, message: 'expected {begin, end, step, maxParallel}' });
    else {
      for (const key of ['begin', 'end', 'step', 'maxParallel']) {
        const v = array[key];
        if (v === undefined && (key === 'step' || key === 'maxParallel')) continue;
        if (typeof v !== 'number' || !Number.isInteger(v))
          errors.push({ path: `${base}.array.${key}`, message: 'expected an integer' });
      }
      const { begin, end, step = 1, maxParallel } = array as Record<string, number>;
      if (errors.length === 0) {
        if (step! <= 0) errors.push({ path: `${base}.array.step`, message: 'must be greater than 0' });
        if (begin! > end!)
          errors.push({ path: `${base}.array.begin`, message: 'must not be greater than end' });
        if (maxParallel !== undefined && maxParallel < 1)
          errors.push({ path: `${base}.array.maxParallel`, message: 'must be at least 1' });
        if (step! > 0 && begin! <= end! && (end! - begin!) / step! >= 100_000)
          errors.push({ path: `${base}.array`, message: 'at most 100000 indexes' });
      }
    }
  }
  for (const key of ['hold', 'terminate']) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean')
      errors.push({ path: `${base}.${key}`, message: 'expected true or false' });
  }
  return errors;
}
