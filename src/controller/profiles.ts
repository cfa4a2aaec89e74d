// The profiles as the reconciler sees them: the cached BatchProfiles and namespace labels, resolved for one
// resource (src/translate/profileResolution.ts), and where a resource's Batch jobs live.
import type { BatchProfile } from '../api/batchProfile.js';
import type { Drmaa2Job, ProfileRef } from '../api/drmaa2job.js';
import type { ProfileSource } from '../ports/profileSource.js';
import { resolveProfile, type Resolution } from '../translate/profileResolution.js';

export interface Profiles {
  /** Which profile the resource is submitted under now. */
  resolve(resource: Drmaa2Job): Resolution;
}

/** The profile's session label: its own, else its name. */
export function sessionOf(profile: BatchProfile): string {
  return profile.spec.session || profile.metadata.name;
}

/** What the status records of the profile a job was submitted under. */
export function profileRef(profile: BatchProfile): ProfileRef {
  return {
    name: profile.metadata.name,
    ...(profile.metadata.generation !== undefined ? { generation: profile.metadata.generation } : {}),
    project: profile.spec.project,
    location: profile.spec.location,
    session: sessionOf(profile),
    ...(profile.spec.impersonate ? { caller: structuredClone(profile.spec.impersonate) } : {}),
  };
}

export function profilesFrom(source: ProfileSource, opts: { requireProfile: boolean }): Profiles {
  return {
    resolve(resource) {
      const namespace = resource.metadata.namespace;
      // An empty cache before the first list is not "no profiles": nothing goes under the flags' project
      // because a list has not come back yet.
      if (!source.hasSynced()) {
        return {
          kind: 'waiting',
          reason: 'ProfilesUnknown',
          message: 'The controller has not read the BatchProfiles yet; the job is submitted once it has.',
        };
      }
      // The API server labels every namespace with its name; a namespace not seen yet has at least that.
      const labels = source.namespaceLabels(namespace) ?? { 'kubernetes.io/metadata.name': namespace };
      return resolveProfile({
        namespace,
        namespaceLabels: labels,
        requested: resource.spec.profile,
        profiles: source.profiles(),
        requireProfile: opts.requireProfile,
      });
    },
  };
}
