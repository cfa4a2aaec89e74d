// Three projects, run in this order (sequence.groupOrder): unit tests in parallel; integration and reliability
// tests one file at a time, each file in its own forked process. Every integration and reliability file starts
// its own real peers (etcd + kube-apiserver, fake-gcs-server, the Batch emulator, controller processes) in a
// beforeAll hook, which takes 3-10 s on two cores and far longer on a loaded machine; two files at once would
// only compete for the same cores. The timeouts below sit above the peers' own start-up and readiness deadlines
// (etcd 60 s, kube-apiserver 90 s, the controller 60 s, ...), so that a peer that does not come up fails with
// its own message and log tail rather than with a bare hook timeout.
import { defineConfig } from 'vitest/config';

/** A file's beforeAll starts the control plane and its other peers; afterAll stops each (SIGTERM, then up
 * to 20 s before SIGKILL). */
const PEER_HOOK_TIMEOUT_MS = 300_000;

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // bench-smoke.test.ts is a 50-job run of the benchmark against real peers: an integration test.
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          maxWorkers: 1,
          // The slowest (the demo, the benchmark smoke) take 10-20 s here and give themselves longer limits.
          testTimeout: 300_000,
          hookTimeout: PEER_HOOK_TIMEOUT_MS,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          maxWorkers: 1,
          // Sizes come from RELIABILITY_* (see README); suites whose budget grows with their size (crash,
          // fuzz) or exceeds this (batchFaults) compute their own timeout from their waits.
          testTimeout: 600_000,
          hookTimeout: PEER_HOOK_TIMEOUT_MS,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
