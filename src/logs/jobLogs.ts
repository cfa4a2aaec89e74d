// From a Drmaa2Job to what its logs are: the Batch jobs its status names, each proven to be the resource's
// own before its logs are read (the Batch job's labels must name the resource's UID and namespace: a status
// names a job, it does not prove it), then one Cloud Logging selection by the jobs' UIDs.
//
// A Batch job deleted after ttlSecondsAfterFinished cannot be read any more, but its logs stay in Cloud
// Logging for the log bucket's retention: the UID the controller recorded when it still could read the job
// (and prove it) finds them.
import type { Job } from '../api/batch.js';
import type { BatchJobRef, Drmaa2Job } from '../api/drmaa2job.js';
import type { BatchJobs } from '../ports/batchJobs.js';
import { isBatchError } from '../ports/errors.js';
import type { LogSelection } from '../translate/batchLogs.js';
import { isOwnedBy } from '../translate/labels.js';
import type { LogTarget } from '../translate/logTarget.js';

/** Entries from a little before the job was created: the writer's clock may be ahead of Batch's. */
const CREATE_SKEW_MS = 60_000;

export class LogsUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogsUnavailable';
  }
}

export interface ProvenLogs {
  selection: LogSelection;
  /** Batch job UID -> its ref, for line prefixes of arrays run as one job per element. */
  jobsByUid: Map<string, BatchJobRef>;
  /** Said to the reader: a job read by its recorded UID only, say. */
  notes: string[];
}

function projectOf(name: string): string | undefined {
  return /^projects\/([^/]+)\/locations\/[^/]+\/jobs\/[^/]+$/.exec(name)?.[1];
}

/** Reads each Batch job the target names (behind the owner check) and builds the selection. */
export async function proveLogTarget(
  resource: Drmaa2Job,
  target: LogTarget,
  batch: BatchJobs,
  since: string | undefined,
): Promise<ProvenLogs> {
  const owner = { namespace: resource.metadata.namespace, uid: resource.metadata.uid };
  const uids: string[] = [];
  const jobsByUid = new Map<string, BatchJobRef>();
  const notes: string[] = [];
  let project: string | undefined;
  let createdMs = Infinity;
  for (const ref of target.jobs) {
    const refProject = projectOf(ref.name);
    if (!refProject)
      throw new LogsUnavailable(`the status names ${JSON.stringify(ref.name)}, not a Batch job`);
    if (project !== undefined && refProject !== project)
      throw new LogsUnavailable(
        `the Batch jobs of one resource are in projects ${project} and ${refProject}`,
      );
    project = refProject;
    let job: Job | undefined;
    if (!ref.deleted) {
      try {
        job = await batch.getJob(ref.name);
      } catch (err) {
        if (!isBatchError(err, 'NotFound')) throw err;
      }
    }
    if (job) {
      if (!isOwnedBy(job, owner))
        throw new LogsUnavailable(
          `Batch job ${ref.name} is not ${owner.namespace}/${resource.metadata.name}'s own (its labels name another resource): its logs are not read`,
        );
      if (job.logsPolicy?.destination === 'PATH')
        throw new LogsUnavailable(
          `Batch job ${ref.name} writes its task logs to ${job.logsPolicy.logsPath ?? 'a path'} (the template's outputPath), not to Cloud Logging`,
        );
      const created = Date.parse(job.createTime ?? '');
      if (!Number.isNaN(created)) createdMs = Math.min(createdMs, created);
    }
    const uid = job?.uid ?? ref.uid;
    if (!uid)
      throw new LogsUnavailable(
        `Batch job ${ref.name} no longer exists and its UID was never recorded: its logs cannot be found`,
      );
    if (!job) notes.push(`Batch job ${ref.name} no longer exists; its logs are read by its UID ${uid}`);
    uids.push(uid);
    jobsByUid.set(uid, ref);
  }
  if (project === undefined || uids.length === 0) throw new LogsUnavailable('no Batch job to read');
  const submitted = Date.parse(resource.status?.jobInfo?.submissionTime ?? '');
  if (createdMs === Infinity && !Number.isNaN(submitted)) createdMs = submitted;
  if (createdMs === Infinity) createdMs = Date.parse(resource.metadata.creationTimestamp ?? '') || 0;
  // Cloud Logging's client looks back one day unless the filter names a time: the job's creation is named,
  // so that the logs of an older job are found too (and the query is narrower).
  const from = new Date(Math.max(0, createdMs - CREATE_SKEW_MS)).toISOString();
  return {
    selection: {
      project,
      jobUids: uids,
      ...(target.taskIndexes ? { taskIndexes: target.taskIndexes } : {}),
      since: since !== undefined && since > from ? since : from,
    },
    jobsByUid,
    notes,
  };
}
