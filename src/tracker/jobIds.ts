// The IDs the tracker hands out and accepts.
//
//   job          projects/{p}/locations/{l}/jobs/{id}     the Batch job's full name (a bare {id} is accepted
//                                                          and completed with the tracker's project/location)
//   array job    {job name}[{begin}-{end}:{step}]          one native Batch array job (a task per index)
//                ["{job name}", ...]                       JSON list: one Batch job per index, used when
//                                                          each element is itself a multi-task job
//   array index  {job name}/taskGroups/group0/tasks/{t}   the Batch task of index begin + t*step
import { jobNameOf } from '../api/batch.js';
import { InvalidArgumentError } from './errors.js';

export type ParsedId =
  | { kind: 'job'; job: string }
  | { kind: 'task'; job: string; task: string; taskIndex: number }
  | { kind: 'array'; job: string; begin: number; end: number; step: number };

const JOB_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const JOB_NAME = /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TASK_NAME = /^(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+)\/taskGroups\/[^/]+\/tasks\/(\d+)$/;
const NATIVE_ARRAY = /^(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/[]+)\[(-?\d+)-(-?\d+):(\d+)\]$/;

export function nativeArrayId(job: string, begin: number, end: number, step: number): string {
  return `${job}[${begin}-${end}:${step}]`;
}

export function perElementArrayId(jobs: readonly string[]): string {
  return JSON.stringify(jobs);
}

export function taskName(job: string, taskIndex: number, group = 'group0'): string {
  return `${job}/taskGroups/${group}/tasks/${taskIndex}`;
}

/** Parses a job, task or native array ID; `parent` completes a bare Batch job ID. */
export function parseId(id: string, parent: string): ParsedId {
  if (JOB_ID.test(id)) return { kind: 'job', job: jobNameOf(parent, id) };
  if (JOB_NAME.test(id)) return { kind: 'job', job: id };
  const task = TASK_NAME.exec(id);
  if (task) return { kind: 'task', job: task[1]!, task: id, taskIndex: Number(task[2]) };
  const array = NATIVE_ARRAY.exec(id);
  if (array) {
    const [begin, end, step] = [Number(array[2]), Number(array[3]), Number(array[4])];
    return { kind: 'array', job: array[1]!, begin, end, step };
  }
  throw new InvalidArgumentError(`not a job ID of Google Batch: ${JSON.stringify(id)}`);
}

/** The per-index IDs of an array job ID (either form). */
export function arrayElements(id: string, parent: string): string[] {
  if (id.startsWith('[')) return parseJsonList(id);
  const parsed = parseId(id, parent);
  if (parsed.kind !== 'array') throw new InvalidArgumentError(`not an array job ID: ${JSON.stringify(id)}`);
  const count = Math.floor((parsed.end - parsed.begin) / parsed.step) + 1;
  return Array.from({ length: Math.max(0, count) }, (_, t) => taskName(parsed.job, t));
}

function parseJsonList(id: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(id);
  } catch {
    throw new InvalidArgumentError(`not an array job ID (bad JSON list): ${JSON.stringify(id)}`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && JOB_NAME.test(v))) {
    throw new InvalidArgumentError(`not an array job ID (expected a JSON list of job names): ${id}`);
  }
  return value as string[];
}
