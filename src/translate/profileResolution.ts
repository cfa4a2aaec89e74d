// Which BatchProfile a Drmaa2Job is submitted under: the one it names, else its namespace's default, and
// whether the namespace may use it. Pure: the profiles and the namespace's labels come in.
import type { BatchProfile, LabelSelector } from '../api/batchProfile.js';

export type Resolution =
  /** No profile applies: the controller's own project, location and session (single-tenant mode). */
  | { kind: 'none' }
  | { kind: 'profile'; profile: BatchProfile }
  /** Not submitted for now; a change of profiles may resolve it (GitOps may apply the profile later). */
  | { kind: 'waiting'; reason: 'ProfileNotFound' | 'ProfileAmbiguous' | 'ProfilesUnknown'; message: string }
  /** Never submitted under this spec. */
  | { kind: 'refused'; reason: 'ProfileNotAllowed' | 'NoProfile'; message: string };

export interface ResolutionInput {
  namespace: string;
  /** The namespace's labels (Kubernetes adds `kubernetes.io/metadata.name` itself). */
  namespaceLabels: Record<string, string>;
  /** spec.profile */
  requested?: string | undefined;
  profiles: readonly BatchProfile[];
  /** --require-profile: a job no profile applies to is refused instead of using the controller's flags. */
  requireProfile: boolean;
}

/** metav1.LabelSelector semantics: every matchLabels pair and every expression must hold; an absent
 * selector selects nothing, an empty one everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (!has || !values.includes(labels[expression.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[expression.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function resolveProfile(input: ResolutionInput): Resolution {
  const { namespace, namespaceLabels, requested, profiles } = input;
  const selects = (p: BatchProfile) => selectorMatches(p.spec.namespaceSelector, namespaceLabels);
  if (requested) {
    const named = profiles.find((p) => p.metadata.name === requested);
    if (!named) {
      return {
        kind: 'waiting',
        reason: 'ProfileNotFound',
        message: `BatchProfile ${requested} (spec.profile) does not exist; the job is submitted once it does.`,
      };
    }
    if (!selects(named)) {
      return {
        kind: 'refused',
        reason: 'ProfileNotAllowed',
        message: `BatchProfile ${requested} (spec.profile) does not select namespace ${namespace} (its namespaceSelector).`,
      };
    }
    return { kind: 'profile', profile: named };
  }
  const defaults = profiles.filter((p) => p.spec.default === true && selects(p));
  if (defaults.length === 1) return { kind: 'profile', profile: defaults[0]! };
  if (defaults.length > 1) {
    const names = defaults.map((p) => p.metadata.name).sort();
    return {
      kind: 'waiting',
      reason: 'ProfileAmbiguous',
      message: `BatchProfiles ${names.join(', ')} are all defaults for namespace ${namespace}: name one in spec.profile, or keep one default.`,
    };
  }
  if (!input.requireProfile) return { kind: 'none' };
  return {
    kind: 'refused',
    reason: 'NoProfile',
    message: `No BatchProfile is the default for namespace ${namespace} and spec.profile names none; this controller submits only under a profile (--require-profile).`,
  };
}
