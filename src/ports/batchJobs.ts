import type { CreateJobRequest, Job, Task } from '../api/batch.js';

export interface ListJobsQuery {
  /** `projects/{project}/locations/{location}` */
  parent: string;
  /** AIP-160 filter, e.g. `labels.drmaa2session="prod"` */
  filter?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

export interface JobPage {
  jobs: Job[];
  /** Empty or absent on the last page. */
  nextPageToken?: string;
}

/** The Google Batch jobs API, as the core needs it. Every method throws BatchError on failure. */
export interface BatchJobs {
  /** Creates a job; ALREADY_EXISTS (same job ID) is thrown as BatchError kind AlreadyExists. */
  createJob(request: CreateJobRequest): Promise<Job>;
  /** Full resource name `projects/p/locations/l/jobs/id`; NotFound when it does not exist. */
  getJob(name: string): Promise<Job>;
  /** One page of jobs. */
  listJobs(query: ListJobsQuery): Promise<JobPage>;
  /** Starts cancellation; resolves once Batch accepted it (the long-running operation is not awaited). */
  cancelJob(name: string, requestId?: string): Promise<void>;
  /** Starts deletion; resolves once Batch accepted it (the long-running operation is not awaited). */
  deleteJob(name: string, reason?: string, requestId?: string): Promise<void>;
  /** All tasks of the job's task group (all pages). `group` defaults to `group0`. */
  listTasks(jobName: string, group?: string): Promise<Task[]>;
}

/** Jobs per ListJobs page. Every page asks for the same size: Batch has refused a later page whose size
 * differs from the size its page token was made with. */
export const LIST_PAGE_SIZE = 500;

/** Every job a query lists, page after page, and how many pages (calls) that took. */
export async function listAllJobs(
  batch: Pick<BatchJobs, 'listJobs'>,
  query: Omit<ListJobsQuery, 'pageToken'>,
  /** Applied to each page's jobs as it arrives, so a long list never holds every page whole. */
  keep: (job: Job) => Job | undefined = (job) => job,
): Promise<{ jobs: Job[]; pages: number }> {
  const jobs: Job[] = [];
  let pages = 0;
  let pageToken: string | undefined;
  do {
    const page = await batch.listJobs({
      ...query,
      pageSize: query.pageSize ?? LIST_PAGE_SIZE,
      ...(pageToken ? { pageToken } : {}),
    });
    pages++;
    for (const job of page.jobs) {
      const kept = keep(job);
      if (kept) jobs.push(kept);
    }
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  return { jobs, pages };
}
