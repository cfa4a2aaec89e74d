// Reading what `translate` is given: a YAML (or JSON) stream of Drmaa2Job manifests, bare Drmaa2Job specs
// or bare DRMAA2 JobTemplates. Documents are split before parsing so that one broken document does not hide
// the others.
import { nameBasedUuid } from '../translate/uuid.js';
import { load } from 'js-yaml';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import { API_VERSION, KIND } from '../api/drmaa2job.js';

export interface DocumentOwner {
  namespace: string;
  name: string;
  uid: string;
}

export type InputDocument =
  | { type: 'manifest'; label: string; spec: Drmaa2JobSpec; owner: DocumentOwner; basePath: string }
  /** `strip`: the prefix of error paths that the document itself does not have (a bare template has no
   * `spec.jobTemplate.` around it). */
  | { type: 'spec'; label: string; spec: Drmaa2JobSpec; strip: string }
  | { type: 'skipped'; label: string; reason: string }
  | { type: 'invalid'; label: string; message: string };

/** Keys of a DRMAA2 JobTemplate in its JSON form; any one of them marks a bare template. */
const TEMPLATE_KEYS = new Set([
  'remoteCommand',
  'args',
  'jobCategory',
  'jobName',
  'jobEnvironment',
  'candidateMachines',
  'minSlots',
  'maxSlots',
  'resourceLimits',
  'stageInFiles',
  'stageOutFiles',
  'extension',
  'accountingString',
  'priority',
  'minPhysMemory',
  'outputPath',
  'errorPath',
  'submitAsHold',
]);

const DOCUMENT_START = /^---(?=\s|$)/;
const BLANK = /^\s*(#.*)?$/;

/** Splits a YAML stream at `---` lines, keeping what follows the marker on its line. */
export function splitDocuments(text: string): string[] {
  const docs: string[][] = [[]];
  for (const line of text.split(/\r?\n/)) {
    if (DOCUMENT_START.test(line)) {
      docs.push([line.replace(DOCUMENT_START, '')]);
      continue;
    }
    if (/^\.\.\.\s*$/.test(line)) continue;
    docs.at(-1)!.push(line);
  }
  return docs.map((lines) => lines.join('\n')).filter((doc) => !doc.split('\n').every((l) => BLANK.test(l)));
}

/** A stable UUID (name-based, version 5 layout) standing in for metadata.uid, so output is deterministic. */
export function placeholderUid(namespace: string, name: string): string {
  return nameBasedUuid(`drmaa2.io/${namespace}/${name}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readDocuments(text: string): InputDocument[] {
  const out: InputDocument[] = [];
  splitDocuments(text).forEach((source, i) => {
    const label = `document ${i + 1}`;
    let value: unknown;
    try {
      value = load(source);
    } catch (err) {
      out.push({
        type: 'invalid',
        label,
        message: `not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      });
      return;
    }
    if (Array.isArray(value)) value.forEach((item, j) => out.push(classify(item, `${label}[${j}]`)));
    else out.push(classify(value, label));
  });
  return out;
}

function classify(value: unknown, label: string): InputDocument {
  if (!isObject(value))
    return { type: 'invalid', label, message: 'expected a mapping (a manifest or a job template)' };
  if ('kind' in value || 'apiVersion' in value) return classifyManifest(value, label);
  if (isObject(value.jobTemplate))
    return { type: 'spec', label, spec: value as unknown as Drmaa2JobSpec, strip: 'spec.' };
  if (Object.keys(value).some((k) => TEMPLATE_KEYS.has(k))) {
    const name = typeof value.jobName === 'string' ? ` (${value.jobName})` : '';
    return {
      type: 'spec',
      label: `${label}${name}`,
      spec: { jobTemplate: value },
      strip: 'spec.jobTemplate.',
    };
  }
  return {
    type: 'invalid',
    label,
    message: 'neither a Drmaa2Job manifest (kind: Drmaa2Job) nor a DRMAA2 job template (no known keys)',
  };
}

function classifyManifest(value: Record<string, unknown>, label: string): InputDocument {
  const metadata = isObject(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default';
  const named = name ? `${label} (${namespace}/${name})` : label;
  if (value.kind !== KIND) {
    return { type: 'skipped', label: named, reason: `kind ${String(value.kind)} is not ${KIND}` };
  }
  if (value.apiVersion !== API_VERSION) {
    return { type: 'invalid', label: named, message: `apiVersion: must be ${API_VERSION}` };
  }
  if (!name) return { type: 'invalid', label: named, message: 'metadata.name: required' };
  if (!isObject(value.spec)) return { type: 'invalid', label: named, message: 'spec: required' };
  const uid =
    typeof metadata.uid === 'string' && metadata.uid ? metadata.uid : placeholderUid(namespace, name);
  return {
    type: 'manifest',
    label: named,
    spec: value.spec as unknown as Drmaa2JobSpec,
    owner: { namespace, name, uid },
    basePath: 'spec',
  };
}
