export type * from './batchJobs.js';
export type * from './buckets.js';
export type * from './clock.js';
export type * from './kubeStore.js';
export type * from './eventSink.js';
export type * from './logEntries.js';
export * from './errors.js';
export * from './callers.js';
