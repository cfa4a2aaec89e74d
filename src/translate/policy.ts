// A BatchProfile as pure policy: whether a profile is itself well-formed, whether an otherwise valid template
// keeps its rules (security level, allow-lists, limits), and what it adds to every request (where and as
// whom the job runs, its labels and the defaults the template left open). A violation names the template's
// field and the rule broken, with the profile's name, so that the tenant sees what to change and whom to
// ask; a fault of the profile itself names the profile's field, since no change of the template mends it.
import type { CreateJobRequest, TaskGroup } from '../api/batch.js';
import {
  SECURITY_LEVELS,
  type BatchProfileSpec,
  type BucketRule,
  type ProfileAllowed,
  type SecurityLevel,
} from '../api/batchProfile.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH } from '../api/drmaa2.js';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import { isInstanceTemplate } from './allocation.js';
import { parseGoDuration, protoSeconds } from './duration.js';
import { arrayLength, isPerElement } from './limits.js';
import type { BuiltRequest } from './request.js';
import {
  DEFAULT_SECURITY_LEVEL,
  levelAllows,
  minimumLevel,
  steersHostPrograms,
  systemDirectoryOf,
  type Capability,
} from './securityLevels.js';
import type { SpecError } from './specError.js';

export interface Profile {
  name: string;
  spec: BatchProfileSpec;
}

/** Where a profile's jobs live: the session defaults to the profile's name (each project, location and
 * session has its own poller). */
export function profileTarget(profile: Profile): { project: string; location: string; session: string } {
  return {
    project: profile.spec.project,
    location: profile.spec.location,
    session: profile.spec.session ?? profile.name,
  };
}

export function securityLevelOf(spec: BatchProfileSpec): SecurityLevel {
  return spec.securityLevel ?? DEFAULT_SECURITY_LEVEL;
}

// ---------------------------------------------------------------------------------------------------------
// Patterns

/** `*` stands for any run of characters (none included); everything else stands for itself. Matched without
 * regular expressions, in time proportional to pattern times value at worst: the value is the tenant's. */
export function matchesPattern(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (star >= 0) {
      p = star + 1;
      v = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function listed(list: readonly string[], value: string): boolean {
  return list.some((p) => matchesPattern(p, value));
}

const SHOWN = 10;

/** A list as a message shows it: bounded, since a status message is. */
function shown(list: readonly string[]): string {
  if (list.length === 0) return 'none';
  const head = list.slice(0, SHOWN).join(', ');
  return list.length > SHOWN ? `${head}, … ${list.length} in all` : head;
}

// ---------------------------------------------------------------------------------------------------------
// The profile itself

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
/** Batch reserves label keys beginning with these (Job.labels, AllocationPolicy.labels). */
const RESERVED_LABEL_PREFIXES = ['goog-', 'google-'];
/** What the CRD admits (crds/drmaa2.io_batchprofiles.yaml); checked again here, so that a profile admitted
 * under an older schema is reported at its field instead of being half applied. */
export const MAX_PROFILE_LABELS = 32;
const MAX_LIST_ITEMS = 64;
const PROJECT =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const LOCATION = /^[a-z]+(-[a-z]+)*[0-9]+$/;
const SERVICE_ACCOUNT =
  /^[a-z0-9]([-a-z0-9._]{0,98}[a-z0-9])?@[a-z0-9]([-a-z0-9.:]*[a-z0-9])?\.gserviceaccount\.com$/;
const SCOPE = /^https:\/\/www\.googleapis\.com\/auth\/[-A-Za-z0-9._/]+$/;
const NETWORK =
  /^(https:\/\/www\.googleapis\.com\/compute\/v1\/)?(projects\/[-a-z0-9.:]+\/)?global\/networks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBNETWORK =
  /^(https:\/\/www\.googleapis\.com\/compute\/v1\/)?(projects\/[-a-z0-9.:]+\/)?regions\/[a-z]+(-[a-z]+)*[0-9]+\/subnetworks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Each allow-list's patterns: the characters of the names they match, and `*`. */
const PATTERNS: Record<
  Exclude<keyof ProfileAllowed, 'buckets' | 'deletionPolicies'>,
  { rule: RegExp; maxLength: number; what: string }
> = {
  machineTypes: { rule: /^[a-z0-9*][-a-z0-9*]*$/, maxLength: 63, what: 'lowercase letters, digits, - and *' },
  accelerators: { rule: /^[a-z0-9*][-a-z0-9*]*$/, maxLength: 63, what: 'lowercase letters, digits, - and *' },
  instanceTemplates: {
    rule: /^[-a-zA-Z0-9*._/:]+$/,
    maxLength: 1024,
    what: 'letters, digits, -, ., _, /, : and *',
  },
  reservations: {
    rule: /^[-a-zA-Z0-9*._/:]+$/,
    maxLength: 1024,
    what: 'letters, digits, -, ., _, /, : and *',
  },
  nfsServers: {
    rule: /^[-a-zA-Z0-9*.:[\]]+$/,
    maxLength: 253,
    what: 'a host name or address, or a pattern with *',
  },
  secretPrefixes: { rule: /^projects\/\S*$/, maxLength: 512, what: 'projects/ followed by no white space' },
};
const BUCKET_PATTERN = /^[a-z0-9*][-a-z0-9*._]*$/;
const LIMIT_COUNTS: Record<
  'tasks' | 'parallelism' | 'arrayElements' | 'bootDiskGiB' | 'cpuMilliPerTask' | 'memoryMiBPerTask',
  number
> = {
  tasks: 100_000,
  parallelism: 100_000,
  arrayElements: 100_000,
  bootDiskGiB: 65_536,
  cpuMilliPerTask: 10_000_000,
  memoryMiBPerTask: 100_000_000,
};
const SELECTOR_OPERATORS: readonly unknown[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/**
 * The faults of a profile itself, each at its field (`spec.limits.maxRunDuration`); empty when it is valid.
 * `name` (the profile's metadata.name) lets the default session be checked too. It never throws, whatever
 * the JSON holds.
 */
export function checkProfile(
  spec: BatchProfileSpec,
  options: { basePath?: string; name?: string } = {},
): SpecError[] {
  const base = options.basePath ?? 'spec';
  if (!isMap(spec)) return [{ path: base, message: 'expected an object' }];
  const errors: SpecError[] = [];
  const fail = (field: string, message: string): void => {
    errors.push({ path: `${base}.${field}`, message });
  };
  if (typeof spec.project !== 'string' || !PROJECT.test(spec.project))
    fail(
      'project',
      `expected a Google Cloud project ID (6-30 lowercase letters, digits and -, starting with a letter) or number, got ${JSON.stringify(spec.project)}`,
    );
  if (typeof spec.location !== 'string' || !LOCATION.test(spec.location))
    fail('location', `expected a Batch region such as us-central1, got ${JSON.stringify(spec.location)}`);
  if (spec.session !== undefined) {
    if (typeof spec.session !== 'string' || spec.session === '' || !LABEL_VALUE.test(spec.session))
      fail(
        'session',
        `must be a Batch label value (1-63 lowercase letters, digits, _ and -), got ${JSON.stringify(spec.session)}`,
      );
  } else if (options.name !== undefined && !LABEL_VALUE.test(options.name)) {
    fail(
      'session',
      `required: the profile's name ${JSON.stringify(options.name)}, the default session, is not a Batch label value (lowercase letters, digits, _ and -, at most 63)`,
    );
  }
  if (spec.default !== undefined && typeof spec.default !== 'boolean')
    fail('default', 'expected true or false');
  if (spec.securityLevel !== undefined && !SECURITY_LEVELS.includes(spec.securityLevel))
    fail(
      'securityLevel',
      `expected one of ${SECURITY_LEVELS.join(', ')}, got ${JSON.stringify(spec.securityLevel)}`,
    );
  checkServiceAccount(spec.serviceAccount, fail);
  checkImpersonation(spec.impersonate, fail);
  checkNetwork(spec.network, spec.location, fail);
  checkLabels(spec.labels, fail);
  checkAllowed(spec.allowed, fail);
  checkProfileLimits(spec.limits, fail);
  checkSelector(spec.namespaceSelector, fail);
  return errors;
}

type Fail = (field: string, message: string) => void;

function checkServiceAccount(account: BatchProfileSpec['serviceAccount'], fail: Fail): void {
  if (account === undefined) return;
  if (!isMap(account)) return fail('serviceAccount', 'expected {email, scopes}');
  if (typeof account.email !== 'string' || account.email.length > 254 || !SERVICE_ACCOUNT.test(account.email))
    fail(
      'serviceAccount.email',
      `expected a service account's e-mail address (name@project.iam.gserviceaccount.com), got ${JSON.stringify(account.email)}`,
    );
  if (account.scopes !== undefined) {
    if (!isStringList(account.scopes)) return fail('serviceAccount.scopes', 'expected a list of strings');
    if (account.scopes.length > 32) fail('serviceAccount.scopes', `at most 32, got ${account.scopes.length}`);
    account.scopes.forEach((scope, i) => {
      if (!SCOPE.test(scope))
        fail(
          `serviceAccount.scopes[${i}]`,
          `expected an OAuth scope https://www.googleapis.com/auth/..., got ${JSON.stringify(scope)}`,
        );
    });
  }
}

/** The most delegates IAM Credentials' generateAccessToken is given here: a chain is a platform team's
 * choice, and a long one is a mistake rather than a design. */
const MAX_DELEGATES = 10;

function checkImpersonation(caller: BatchProfileSpec['impersonate'], fail: Fail): void {
  if (caller === undefined) return;
  if (!isMap(caller)) return fail('impersonate', 'expected {serviceAccount, delegates}');
  const account = (field: string, value: unknown) => {
    if (typeof value !== 'string' || value.length > 254 || !SERVICE_ACCOUNT.test(value))
      fail(
        field,
        `expected a service account's e-mail address (name@project.iam.gserviceaccount.com), got ${JSON.stringify(value)}`,
      );
  };
  account('impersonate.serviceAccount', caller.serviceAccount);
  if (caller.delegates === undefined) return;
  if (!isStringList(caller.delegates)) return fail('impersonate.delegates', 'expected a list of strings');
  if (caller.delegates.length > MAX_DELEGATES)
    fail('impersonate.delegates', `at most ${MAX_DELEGATES}, got ${caller.delegates.length}`);
  caller.delegates.slice(0, MAX_DELEGATES).forEach((d, i) => account(`impersonate.delegates[${i}]`, d));
}

function checkNetwork(network: BatchProfileSpec['network'], location: unknown, fail: Fail): void {
  if (network === undefined) return;
  if (!isMap(network)) return fail('network', 'expected {network, subnetwork, noExternalIpAddress}');
  if (
    network.network !== undefined &&
    (typeof network.network !== 'string' || !NETWORK.test(network.network))
  )
    fail(
      'network.network',
      `expected projects/<project>/global/networks/<network> or global/networks/<network>, got ${JSON.stringify(network.network)}`,
    );
  const subnetwork = network.subnetwork;
  if (subnetwork !== undefined) {
    if (typeof subnetwork !== 'string' || !SUBNETWORK.test(subnetwork))
      fail(
        'network.subnetwork',
        `expected projects/<project>/regions/<location>/subnetworks/<subnetwork> or regions/<location>/subnetworks/<subnetwork>, got ${JSON.stringify(subnetwork)}`,
      );
    else if (typeof location === 'string' && !`/${subnetwork}`.includes(`/regions/${location}/subnetworks/`))
      // VMs run in the profile's location and can only join a subnetwork of that region.
      fail(
        'network.subnetwork',
        `must be in the profile's location ${location} (regions/${location}/subnetworks/<name>)`,
      );
  }
  if (network.noExternalIpAddress !== undefined && typeof network.noExternalIpAddress !== 'boolean')
    fail('network.noExternalIpAddress', 'expected true or false');
}

function checkLabels(labels: BatchProfileSpec['labels'], fail: Fail): void {
  if (labels === undefined) return;
  if (!isMap(labels)) return fail('labels', 'expected a map of strings');
  const entries = Object.entries(labels);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key))
      fail(
        `labels.${key}`,
        'the key must be a Batch label key (1-63 lowercase letters, digits, _ and -, starting with a letter)',
      );
    else if (RESERVED_LABEL_PREFIXES.some((p) => key.startsWith(p)))
      fail(
        `labels.${key}`,
        `Batch reserves label keys beginning with ${RESERVED_LABEL_PREFIXES.join(' or ')}`,
      );
    if (typeof value !== 'string' || !LABEL_VALUE.test(value))
      fail(
        `labels.${key}`,
        `the value must be a Batch label value (lowercase letters, digits, _ and -, at most 63), got ${JSON.stringify(value)}`,
      );
  }
  if (entries.length > MAX_PROFILE_LABELS)
    fail(
      'labels',
      `at most ${MAX_PROFILE_LABELS} (a Batch job has at most 64 labels, some of them the controller's), got ${entries.length}`,
    );
}

function checkAllowed(allowed: BatchProfileSpec['allowed'], fail: Fail): void {
  if (allowed === undefined) return;
  if (!isMap(allowed)) return fail('allowed', 'expected an object of lists');
  for (const [kind, { rule, maxLength, what }] of Object.entries(PATTERNS) as [
    keyof typeof PATTERNS,
    (typeof PATTERNS)[keyof typeof PATTERNS],
  ][]) {
    const list = allowed[kind];
    if (list === undefined) continue;
    if (!isStringList(list)) {
      fail(`allowed.${kind}`, 'expected a list of strings');
      continue;
    }
    if (list.length > MAX_LIST_ITEMS)
      fail(`allowed.${kind}`, `at most ${MAX_LIST_ITEMS} entries, got ${list.length}`);
    list.forEach((pattern, i) => {
      if (pattern.length > maxLength || !rule.test(pattern))
        fail(
          `allowed.${kind}[${i}]`,
          `expected at most ${maxLength} characters: ${what}, got ${JSON.stringify(pattern)}`,
        );
      else if (kind === 'secretPrefixes' && /^projects\/[^/*]+$/.test(pattern))
        // A prefix that ends inside the project ID also grants every project whose ID begins with it.
        fail(
          `allowed.${kind}[${i}]`,
          `${JSON.stringify(pattern)} also matches every project whose ID begins with it; end it with /`,
        );
    });
  }
  if (allowed.buckets !== undefined) {
    if (!Array.isArray(allowed.buckets)) fail('allowed.buckets', 'expected a list of {name, access, create}');
    else if (allowed.buckets.length > MAX_LIST_ITEMS)
      fail('allowed.buckets', `at most ${MAX_LIST_ITEMS} rules, got ${allowed.buckets.length}`);
    else allowed.buckets.forEach((rule, i) => checkBucketRule(rule, `allowed.buckets[${i}]`, fail));
  }
  if (allowed.deletionPolicies !== undefined) {
    if (!isStringList(allowed.deletionPolicies))
      fail('allowed.deletionPolicies', 'expected a list of strings');
    else
      allowed.deletionPolicies.forEach((policy, i) => {
        if (policy !== 'Delete' && policy !== 'Orphan')
          fail(`allowed.deletionPolicies[${i}]`, `expected Delete or Orphan, got ${JSON.stringify(policy)}`);
      });
  }
}

function checkBucketRule(rule: BucketRule, at: string, fail: Fail): void {
  if (!isMap(rule)) return fail(at, 'expected {name, access, create}');
  if (typeof rule.name !== 'string' || rule.name.length > 222 || !BUCKET_PATTERN.test(rule.name))
    fail(
      `${at}.name`,
      `expected a bucket name or a pattern with * (lowercase letters, digits, _, . and -), got ${JSON.stringify(rule.name)}`,
    );
  if (rule.access !== 'ReadOnly' && rule.access !== 'ReadWrite')
    fail(`${at}.access`, `expected ReadOnly or ReadWrite, got ${JSON.stringify(rule.access)}`);
  if (rule.create !== undefined && typeof rule.create !== 'boolean')
    fail(`${at}.create`, 'expected true or false');
  else if (rule.create && rule.access === 'ReadOnly')
    fail(`${at}.create`, 'only a ReadWrite bucket is staged out to, so only it can be created');
}

function checkProfileLimits(limits: BatchProfileSpec['limits'], fail: Fail): void {
  if (limits === undefined) return;
  if (!isMap(limits)) return fail('limits', 'expected an object');
  for (const [key, most] of Object.entries(LIMIT_COUNTS) as [keyof typeof LIMIT_COUNTS, number][]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > most)
      fail(`limits.${key}`, `expected an integer from 1 to ${most}, got ${JSON.stringify(value)}`);
  }
  const seconds: Partial<Record<'maxRunDuration' | 'defaultRunDuration', number>> = {};
  for (const key of ['maxRunDuration', 'defaultRunDuration'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    const parsed = typeof value === 'string' ? parseGoDuration(value) : undefined;
    if (parsed === undefined || parsed <= 0)
      fail(`limits.${key}`, `expected a positive duration such as 30m or 24h, got ${JSON.stringify(value)}`);
    else seconds[key] = parsed;
  }
  if (
    seconds.defaultRunDuration !== undefined &&
    seconds.maxRunDuration !== undefined &&
    seconds.defaultRunDuration > seconds.maxRunDuration
  )
    fail(
      'limits.defaultRunDuration',
      `must not exceed limits.maxRunDuration (${limits.maxRunDuration}), got ${limits.defaultRunDuration}`,
    );
  const priority = limits.priority;
  if (priority === undefined) return;
  if (!isMap(priority)) return fail('limits.priority', 'expected {min, max}');
  for (const key of ['min', 'max'] as const) {
    const value = priority[key];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 99)
    )
      fail(
        `limits.priority.${key}`,
        `expected an integer from 0 to 99 (Batch's range), got ${JSON.stringify(value)}`,
      );
  }
  if (typeof priority.min === 'number' && typeof priority.max === 'number' && priority.min > priority.max)
    fail('limits.priority', `min (${priority.min}) must not exceed max (${priority.max})`);
}

function checkSelector(selector: BatchProfileSpec['namespaceSelector'], fail: Fail): void {
  if (selector === undefined) return;
  if (!isMap(selector)) return fail('namespaceSelector', 'expected a label selector');
  if (selector.matchLabels !== undefined && !isMap(selector.matchLabels))
    fail('namespaceSelector.matchLabels', 'expected a map of strings');
  if (selector.matchExpressions === undefined) return;
  if (!Array.isArray(selector.matchExpressions))
    return fail('namespaceSelector.matchExpressions', 'expected a list of {key, operator, values}');
  selector.matchExpressions.forEach((expr, i) => {
    const at = `namespaceSelector.matchExpressions[${i}]`;
    if (!isMap(expr)) return fail(at, 'expected {key, operator, values}');
    if (typeof expr.key !== 'string' || expr.key === '') fail(`${at}.key`, 'required');
    if (!SELECTOR_OPERATORS.includes(expr.operator))
      return fail(`${at}.operator`, `expected one of ${SELECTOR_OPERATORS.join(', ')}`);
    const values = expr.values ?? [];
    if (!isStringList(values)) return fail(`${at}.values`, 'expected a list of strings');
    if ((expr.operator === 'In' || expr.operator === 'NotIn') && values.length === 0)
      fail(`${at}.values`, `required (non-empty) for ${expr.operator}`);
    if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length > 0)
      fail(`${at}.values`, `must be empty for ${expr.operator}`);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The template against the profile

/** A Secret Manager version's full name. The prefix rule needs it whole: a `..` or an encoded character
 * could lead the path, once in a URL, out of the prefix it seems to lie under. */
const SECRET_VERSION = /^projects\/[a-z0-9][a-z0-9.:-]*\/secrets\/[A-Za-z0-9_-]+\/versions\/[A-Za-z0-9_-]+$/;

interface Judged {
  spec: Drmaa2JobSpec;
  built: BuiltRequest;
  profile: Profile;
  base: string;
  errors: SpecError[];
}

/**
 * The rules of `profile` that a template broke, each at the template's field; empty when it keeps them all.
 * `built` is the request the template became (the first element's, for a per-element array: the others
 * differ only in ID and TASK_ID), so what is judged is what Batch would be sent.
 */
export function checkPolicy(
  spec: Drmaa2JobSpec,
  built: BuiltRequest,
  profile: Profile,
  base: string,
): SpecError[] {
  const judged: Judged = { spec, built, profile, base, errors: [] };
  checkLevel(judged);
  checkAllowLists(judged);
  checkJobLimits(judged);
  return judged.errors;
}

function groupOf(request: CreateJobRequest): TaskGroup {
  return request.job.taskGroups![0]!;
}

function checkLevel(j: Judged): void {
  const level = securityLevelOf(j.profile.spec);
  const template = j.spec.jobTemplate;
  const path = `${j.base}.jobTemplate`;
  const { ext, container, multiNode, staging } = j.built.facts;
  const need = (capability: Capability, at: string, what: string): void => {
    const minimum = minimumLevel(capability);
    if (levelAllows(level, minimum)) return;
    j.errors.push({
      path: at,
      message: `not allowed by BatchProfile ${j.profile.name} (securityLevel ${level}): ${what} needs ${minimum}`,
    });
  };
  if (template.jobCategory === CATEGORY_SCRIPT || template.jobCategory === CATEGORY_SCRIPT_PATH)
    need('script', `${path}.jobCategory`, `jobCategory ${template.jobCategory}`);
  if (ext.prolog !== undefined) need('prologEpilog', `${path}.extension.extensionList.prolog`, 'prolog');
  if (ext.epilog !== undefined) need('prologEpilog', `${path}.extension.extensionList.epilog`, 'epilog');
  if (multiNode) need('multiNode', `${path}.maxSlots`, 'a multi-node job (minSlots == maxSlots > 1)');
  for (const name of Object.keys(template.jobEnvironment ?? {}).sort())
    if (steersHostPrograms(name))
      need('hostEnvironment', `${path}.jobEnvironment.${name}`, `the environment variable ${name}`);
  for (const name of Object.keys(ext.secretEnv ?? {}).sort())
    if (steersHostPrograms(name))
      need(
        'hostEnvironment',
        `${path}.extension.extensionList.secret_env`,
        `the environment variable ${name}`,
      );
  for (const use of staging) {
    if (use.source === 'localhost') need('localhost', use.at, 'a localhost: source');
    const dir = container && use.vmPath !== undefined ? systemDirectoryOf(use.vmPath) : undefined;
    if (dir !== undefined)
      need(
        'hostDirectory',
        use.at,
        use.source === 'log'
          ? `a log file in the VM's ${dir} (${use.vmPath})`
          : `a mount in the VM's ${dir} (${use.vmPath})`,
      );
  }
  // A blank value passes no options, which asks for nothing.
  if (ext.dockerOptions !== undefined && ext.dockerOptions.trim() !== '')
    need('dockerOptions', `${path}.extension.extensionList.docker_options`, 'docker_options');
}

function checkAllowLists(j: Judged): void {
  const allowed = j.profile.spec.allowed ?? {};
  const name = j.profile.name;
  const path = `${j.base}.jobTemplate`;
  const allow = (
    kind: Exclude<keyof ProfileAllowed, 'buckets'>,
    what: string,
    value: string,
    at: string,
  ): void => {
    const list = allowed[kind];
    if (list === undefined || listed(list, value)) return;
    j.errors.push({
      path: at,
      message: `${what} ${value} is not in BatchProfile ${name}'s allowed.${kind} (${shown(list)})`,
    });
  };
  const instance = j.built.request.job.allocationPolicy?.instances?.[0];
  const machine = j.spec.jobTemplate.candidateMachines![0]!;
  if (isInstanceTemplate(machine)) {
    // Spot, accelerators and reservation are the instance template's: the template's own are ignored.
    allow(
      'instanceTemplates',
      'instance template',
      instance!.instanceTemplate!,
      `${path}.candidateMachines[0]`,
    );
  } else {
    const policy = instance!.policy!;
    allow('machineTypes', 'machine type', policy.machineType!, `${path}.candidateMachines[0]`);
    for (const accelerator of policy.accelerators ?? [])
      allow('accelerators', 'accelerator', accelerator.type!, `${path}.extension.extensionList.accelerators`);
    if (policy.reservation !== undefined)
      allow('reservations', 'reservation', policy.reservation, `${path}.reservationID`);
  }
  for (const use of j.built.facts.staging) {
    if (use.bucket !== undefined) checkBucket(j, use.bucket, use.writes, use.at);
    if (use.server !== undefined) allow('nfsServers', 'NFS server', use.server, use.at);
  }
  const prefixes = allowed.secretPrefixes;
  const secrets = j.built.facts.ext.secretEnv;
  if (prefixes !== undefined && secrets !== undefined) {
    const at = `${path}.extension.extensionList.secret_env`;
    for (const [env, secret] of Object.entries(secrets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!SECRET_VERSION.test(secret))
        j.errors.push({
          path: at,
          message: `${env}: BatchProfile ${name}'s allowed.secretPrefixes need the full name projects/<project>/secrets/<secret>/versions/<version>, got ${JSON.stringify(secret)}`,
        });
      else if (!prefixes.some((p) => matchesPattern(`${p}*`, secret)))
        j.errors.push({
          path: at,
          message: `${env}: ${secret} begins with none of BatchProfile ${name}'s allowed.secretPrefixes (${shown(prefixes)})`,
        });
    }
  }
  allow('deletionPolicies', 'deletionPolicy', j.spec.deletionPolicy ?? 'Delete', `${j.base}.deletionPolicy`);
}

function checkBucket(j: Judged, bucket: string, writes: boolean, at: string): void {
  const rules = j.profile.spec.allowed?.buckets;
  if (rules === undefined) return;
  const matching = rules.filter((r) => matchesPattern(r.name, bucket));
  if (matching.length === 0)
    j.errors.push({
      path: at,
      message: `bucket ${bucket} is not in BatchProfile ${j.profile.name}'s allowed.buckets (${shown(rules.map((r) => r.name))})`,
    });
  else if (writes && !matching.some((r) => r.access === 'ReadWrite'))
    j.errors.push({
      path: at,
      message: `bucket ${bucket} is ReadOnly in BatchProfile ${j.profile.name}'s allowed.buckets: stage-out and a gs:// outputPath need ReadWrite`,
    });
}

/** Tasks at once of the resource (all its Batch jobs), and where the template asks for them; undefined
 * where the template leaves it open (a native array without maxParallel: clamped instead, see planOf). */
function parallelismAsked(
  spec: Drmaa2JobSpec,
  group: TaskGroup,
  base: string,
): { count: number; at: string } | undefined {
  const template = spec.jobTemplate;
  const minSlots = template.minSlots || 1;
  if (!spec.array) return { count: minSlots, at: `${base}.jobTemplate.minSlots` };
  const elements = arrayLength(spec.array);
  // Every element of a per-element array is submitted at once, as a Batch job of its own.
  if (isPerElement(spec)) return { count: elements * minSlots, at: `${base}.array` };
  if (spec.array.maxParallel === undefined) return undefined;
  return { count: Math.min(spec.array.maxParallel, group.taskCount!), at: `${base}.array.maxParallel` };
}

function checkJobLimits(j: Judged): void {
  const limits = j.profile.spec.limits;
  if (!limits) return;
  const template = j.spec.jobTemplate;
  const path = `${j.base}.jobTemplate`;
  const group = groupOf(j.built.request);
  const taskSpec = group.taskSpec!;
  const compute = taskSpec.computeResource ?? {};
  const over = (at: string, what: string, limit: string, value: number | string): void => {
    j.errors.push({
      path: at,
      message: `${what}: more than BatchProfile ${j.profile.name}'s limits.${limit} (${value})`,
    });
  };
  const native = j.spec.array !== undefined && !isPerElement(j.spec);
  if (limits.tasks !== undefined && group.taskCount! > limits.tasks)
    over(
      native ? `${j.base}.array` : `${path}.maxSlots`,
      `${group.taskCount} tasks in one Batch job`,
      'tasks',
      limits.tasks,
    );
  if (limits.arrayElements !== undefined && j.spec.array && arrayLength(j.spec.array) > limits.arrayElements)
    over(
      `${j.base}.array`,
      `${arrayLength(j.spec.array)} array indexes`,
      'arrayElements',
      limits.arrayElements,
    );
  const asked = parallelismAsked(j.spec, group, j.base);
  if (limits.parallelism !== undefined && asked && asked.count > limits.parallelism)
    over(asked.at, `${asked.count} tasks at once`, 'parallelism', limits.parallelism);
  const runtime = template.resourceLimits?.runtime;
  const maxRun = limits.maxRunDuration !== undefined ? parseGoDuration(limits.maxRunDuration) : undefined;
  if (runtime !== undefined && maxRun !== undefined && protoSeconds(taskSpec.maxRunDuration)! > maxRun)
    over(`${path}.resourceLimits.runtime`, `runtime ${runtime}`, 'maxRunDuration', limits.maxRunDuration!);
  if (
    limits.bootDiskGiB !== undefined &&
    template.resourceLimits?.bootdiskmib !== undefined &&
    compute.bootDiskMib! > limits.bootDiskGiB * 1024
  )
    over(
      `${path}.resourceLimits.bootdiskmib`,
      `a boot disk of ${compute.bootDiskMib} MiB`,
      'bootDiskGiB',
      `${limits.bootDiskGiB} GiB = ${limits.bootDiskGiB * 1024} MiB`,
    );
  if (limits.cpuMilliPerTask !== undefined && compute.cpuMilli! > limits.cpuMilliPerTask) {
    const explicit = template.resourceLimits?.cpumilli !== undefined;
    over(
      explicit ? `${path}.resourceLimits.cpumilli` : `${path}.candidateMachines[0]`,
      explicit
        ? `cpumilli ${compute.cpuMilli}`
        : `${compute.cpuMilli} cpuMilli per task (one task fills a ${template.candidateMachines![0]} VM unless resourceLimits.cpumilli says less)`,
      'cpuMilliPerTask',
      limits.cpuMilliPerTask,
    );
  }
  if (limits.memoryMiBPerTask !== undefined && (compute.memoryMib ?? 0) > limits.memoryMiBPerTask)
    over(
      `${path}.minPhysMemory`,
      `minPhysMemory ${compute.memoryMib} MiB`,
      'memoryMiBPerTask',
      limits.memoryMiBPerTask,
    );
  const range = limits.priority;
  if (range && template.priority !== undefined) {
    const low = range.min ?? 0;
    const high = range.max ?? 99;
    if (template.priority < low || template.priority > high)
      j.errors.push({
        path: `${path}.priority`,
        message: `priority ${template.priority} is outside BatchProfile ${j.profile.name}'s limits.priority (${low}-${high})`,
      });
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the profile adds to every request

/** What a profile adds to, or sets in, each request of one resource. */
export interface ProfilePlan {
  serviceAccount?: { email: string; scopes?: string[] };
  networkInterface?: { network?: string; subnetwork?: string; noExternalIpAddress?: boolean };
  labels: Record<string, string>;
  /** The run-time limit of a template that gives none. */
  maxRunDuration?: string;
  /** A native array without maxParallel, lowered to the profile's parallelism. */
  parallelism?: number;
  /** The default boot disk, lowered to the profile's limit (a template that sets bootdiskmib is judged). */
  bootDiskMib?: number;
  /** A template without a priority gets the lowest the profile allows. */
  priority?: number;
}

/** Batch Duration text of a number of seconds ("1.5s", "86400s"). */
function protoDuration(seconds: number): string {
  return `${Number(seconds.toFixed(9))}s`;
}

export function planOf(spec: Drmaa2JobSpec, built: BuiltRequest, profile: Profile): ProfilePlan {
  const { serviceAccount, network, labels, limits = {} } = profile.spec;
  const template = spec.jobTemplate;
  const group = groupOf(built.request);
  const plan: ProfilePlan = { labels: { ...(labels ?? {}) } };
  if (serviceAccount)
    plan.serviceAccount = {
      email: serviceAccount.email,
      ...(serviceAccount.scopes ? { scopes: [...serviceAccount.scopes] } : {}),
    };
  if (network) {
    const nic = {
      ...(network.network !== undefined ? { network: network.network } : {}),
      ...(network.subnetwork !== undefined ? { subnetwork: network.subnetwork } : {}),
      ...(network.noExternalIpAddress !== undefined
        ? { noExternalIpAddress: network.noExternalIpAddress }
        : {}),
    };
    if (Object.keys(nic).length > 0) plan.networkInterface = nic;
  }
  const runDuration = limits.defaultRunDuration ?? limits.maxRunDuration;
  const seconds = runDuration !== undefined ? parseGoDuration(runDuration) : undefined;
  if (template.resourceLimits?.runtime === undefined && seconds !== undefined && seconds > 0)
    plan.maxRunDuration = protoDuration(seconds);
  const native = spec.array !== undefined && !isPerElement(spec);
  if (
    native &&
    spec.array!.maxParallel === undefined &&
    limits.parallelism !== undefined &&
    group.parallelism! > limits.parallelism
  )
    plan.parallelism = limits.parallelism;
  const bootDisk = group.taskSpec?.computeResource?.bootDiskMib;
  if (
    template.resourceLimits?.bootdiskmib === undefined &&
    limits.bootDiskGiB !== undefined &&
    bootDisk !== undefined &&
    bootDisk > limits.bootDiskGiB * 1024
  )
    plan.bootDiskMib = limits.bootDiskGiB * 1024;
  if (template.priority === undefined && (limits.priority?.min ?? 0) > 0)
    plan.priority = limits.priority!.min!;
  return plan;
}

/** The request with the profile's plan applied; the request itself is not changed (the elements of a
 * per-element array share their parts). The controller's labels win over the profile's. */
export function applyPlan(request: CreateJobRequest, plan: ProfilePlan): CreateJobRequest {
  const job = request.job;
  const group = groupOf(request);
  const taskSpec = group.taskSpec!;
  const allocation = job.allocationPolicy ?? {};
  return {
    ...request,
    job: {
      ...job,
      ...(plan.priority !== undefined ? { priority: plan.priority } : {}),
      taskGroups: [
        {
          ...group,
          ...(plan.parallelism !== undefined ? { parallelism: plan.parallelism } : {}),
          taskSpec: {
            ...taskSpec,
            ...(plan.bootDiskMib !== undefined
              ? { computeResource: { ...taskSpec.computeResource, bootDiskMib: plan.bootDiskMib } }
              : {}),
            ...(plan.maxRunDuration !== undefined && taskSpec.maxRunDuration === undefined
              ? { maxRunDuration: plan.maxRunDuration }
              : {}),
          },
        },
        ...job.taskGroups!.slice(1),
      ],
      allocationPolicy: {
        ...allocation,
        labels: { ...plan.labels, ...allocation.labels },
        ...(plan.serviceAccount ? { serviceAccount: plan.serviceAccount } : {}),
        ...(plan.networkInterface ? { network: { networkInterfaces: [plan.networkInterface] } } : {}),
      },
      labels: { ...plan.labels, ...job.labels },
    },
  };
}

/** The stage-out buckets of a submission under the profile: those a rule lets the controller create, and
 * those the job writes to that must exist already (no rule with `create: true`). Without bucket rules every
 * bucket may be created, as without a profile. */
export function splitBuckets(buckets: string[], profile: Profile): { create: string[]; mustExist: string[] } {
  const rules = profile.spec.allowed?.buckets;
  if (rules === undefined) return { create: buckets, mustExist: [] };
  const create: string[] = [];
  const mustExist: string[] = [];
  for (const bucket of buckets) {
    const creatable = rules.some(
      (r) => r.create === true && r.access === 'ReadWrite' && matchesPattern(r.name, bucket),
    );
    (creatable ? create : mustExist).push(bucket);
  }
  return { create, mustExist };
}
