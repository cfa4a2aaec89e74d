// The BatchProfile custom resource (group drmaa2.io, version v1alpha1, cluster-scoped): what a platform team
// grants the namespaces it selects — where and as whom their Batch jobs run, and the rules their templates
// must keep. crds/drmaa2.io_batchprofiles.yaml is its schema; these types are what the controller reads.
import type { DeletionPolicy, MetaCondition } from './drmaa2job.js';

export const PROFILE_KIND = 'BatchProfile';
export const PROFILE_PLURAL = 'batchprofiles';

/** After Pod Security's levels: what a template may do beyond running a container unprivileged. The README
 * table "Security levels" lists each rule; src/translate/policy.ts enforces exactly that table. */
export type SecurityLevel = 'restricted' | 'baseline' | 'privileged';
export const SECURITY_LEVELS: readonly SecurityLevel[] = ['restricted', 'baseline', 'privileged'];

/** metav1.LabelSelector */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

/** A bucket the profile's jobs may stage from or to. `name` is a bucket name or a pattern with `*`. */
export interface BucketRule {
  name: string;
  /** ReadOnly: stage-in only; ReadWrite: stage-in and stage-out (and a gs:// outputPath). */
  access: 'ReadOnly' | 'ReadWrite';
  /** Whether stage-out may create the bucket when it does not exist (default false). */
  create?: boolean;
}

/** Lists of what a template may name. An absent list leaves that kind unrestricted; an empty list allows
 * none. Patterns may use `*` for any run of characters. */
export interface ProfileAllowed {
  /** Machine types (`candidateMachines[0]`), e.g. `e2-*`, `n2-standard-*`. */
  machineTypes?: string[];
  /** Accelerator types of the `accelerators` extension, e.g. `nvidia-tesla-t4`. */
  accelerators?: string[];
  /** Instance templates (`candidateMachines[0]` = `template:<name>`). */
  instanceTemplates?: string[];
  /** Reservations (`jobTemplate.reservationID`). */
  reservations?: string[];
  buckets?: BucketRule[];
  /** NFS servers of `nfs:<server>:<path>` stage-in sources. */
  nfsServers?: string[];
  /** Prefixes of the Secret Manager paths `secret_env` may name, e.g. `projects/team-a/secrets/`. */
  secretPrefixes?: string[];
  deletionPolicies?: DeletionPolicy[];
}

export interface ProfileLimits {
  /** Tasks of one Batch job (maxSlots, or the indexes of a native array). */
  tasks?: number;
  /** Tasks running at once. */
  parallelism?: number;
  /** Indexes of an array. */
  arrayElements?: number;
  /** Longest `resourceLimits.runtime` a template may ask for (Go duration text, e.g. `24h`). */
  maxRunDuration?: string;
  /** The run-time limit of a template that gives none. */
  defaultRunDuration?: string;
  bootDiskGiB?: number;
  cpuMilliPerTask?: number;
  memoryMiBPerTask?: number;
  /** Batch job priority range a template may ask for (0-99). */
  priority?: { min?: number; max?: number };
}

export interface BatchProfileSpec {
  /** Which namespaces may use the profile; absent selects none, `{}` selects every namespace. */
  namespaceSelector?: LabelSelector;
  /** The profile a Drmaa2Job of a selected namespace gets when it names none. */
  default?: boolean;
  project: string;
  location: string;
  /** The `drmaa2session` label of its Batch jobs (each project/location/session has its own poller);
   * default: the profile's name. */
  session?: string;
  /** The VMs' identity: always sent as `allocationPolicy.serviceAccount`. */
  serviceAccount?: { email: string; scopes?: string[] };
  /** The caller's identity: a Google service account the controller impersonates for this profile's Batch
   * and Cloud Storage calls, so that each tenant's jobs are made with that tenant's rights. Absent: the
   * controller's own credentials. */
  impersonate?: ProfileImpersonation;
  network?: { network?: string; subnetwork?: string; noExternalIpAddress?: boolean };
  /** Added to every Batch job of the profile (cost attribution); the controller's own labels win. */
  labels?: Record<string, string>;
  /** Default `restricted`. */
  securityLevel?: SecurityLevel;
  allowed?: ProfileAllowed;
  limits?: ProfileLimits;
  /** false: no job of the profile carries its failed task's output in its status (default true). */
  outputInStatus?: boolean;
  /** `required`: every job of the profile goes through Kueue (the controller's --kueue): one without the
   * `kueue.x-k8s.io/queue-name` label waits for it instead of going to Batch, as Kueue holds the jobs of a
   * namespace it manages that name no queue. Kueue's quotas then bound all of the profile's Batch spend. */
  kueue?: { required?: boolean };
}

export interface ProfileImpersonation {
  serviceAccount: string;
  /** Service accounts between the controller's identity and `serviceAccount`, each able to mint tokens for
   * the next (IAM Credentials' delegation chain). */
  delegates?: string[];
}

export interface BatchProfileStatus {
  observedGeneration?: number;
  /** `Ready`: True when the profile is valid and in use as written, else False with why. */
  conditions?: MetaCondition[];
  /** How many Drmaa2Jobs were submitted under this profile and still exist. */
  jobs?: number;
}

export interface BatchProfile {
  apiVersion: 'drmaa2.io/v1alpha1';
  kind: typeof PROFILE_KIND;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec: BatchProfileSpec;
  status?: BatchProfileStatus;
}
