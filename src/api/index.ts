export * from './drmaa2.js';
export * from './drmaa2job.js';
export type * from './batch.js';
export { BATCH_JOB_STATES } from './batch.js';
