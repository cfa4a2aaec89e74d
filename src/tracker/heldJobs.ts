// Jobs submitted with submitAsHold: translated and checked, but kept in this process until released,
// because Google Batch cannot hold a job once it has it. Their IDs are the names they will have in Batch.
import { jobNameOf, type CreateJobRequest } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';

export interface HeldJob {
  name: string;
  request: CreateJobRequest;
  template: JobTemplate;
  /** Terminated before it was ever submitted: reported as Failed until deleted. */
  terminated: boolean;
}

export class HeldJobs {
  private readonly jobs = new Map<string, HeldJob>();

  add(request: CreateJobRequest, template: JobTemplate): string {
    const name = jobNameOf(request.parent, request.jobId);
    this.jobs.set(name, { name, request, template: structuredClone(template), terminated: false });
    return name;
  }

  get(name: string): HeldJob | undefined {
    return this.jobs.get(name);
  }

  remove(name: string): void {
    this.jobs.delete(name);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }
}
