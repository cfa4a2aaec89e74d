// The templates of the golden tests: the worked example of the original library's behaviour description
// and the three examples it ships (script job with spot and prolog, BLAST container with stage-out, MPI over
// ssh with 4 slots), each for a fixed owner so that IDs are deterministic.
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import type { SubmitContext } from '../../../src/translate/index.js';

export const GOLDEN_CONTEXT: SubmitContext = {
  project: 'golden-project',
  location: 'us-central1',
  session: 'testsession',
  owner: { namespace: 'genomics', name: 'golden', uid: '2f8e4c1a-6b7d-4e3f-9a0b-1c2d3e4f5a6b' },
};

export const GOLDEN_CASES: Record<string, Drmaa2JobSpec> = {
  'worked-example': {
    jobTemplate: {
      remoteCommand: '/bin/sleep',
      args: ['1'],
      jobCategory: 'busybox',
      candidateMachines: ['n2-standard-2'],
    },
  },
  'script-spot-prolog': {
    jobTemplate: {
      remoteCommand: '#!/bin/bash\necho "task $BATCH_TASK_INDEX"\n',
      jobCategory: '$script$',
      candidateMachines: ['e2-standard-4'],
      minSlots: 1,
      maxSlots: 2,
      resourceLimits: { cpumilli: '4000', runtime: '3m' },
      extension: { extensionList: { spot: 'true', prolog: '#!/bin/sh\necho prolog\n' } },
    },
  },
  'blast-stage-out': {
    jobTemplate: {
      remoteCommand: '/bin/bash',
      args: ['-c', 'blastn -version > /host/blast-version.txt'],
      jobCategory: 'biocontainers/blast:2.2.31',
      candidateMachines: ['e2-standard-4'],
      stageOutFiles: { '/host': 'gs://golden-results' },
      resourceLimits: { runtime: '30m' },
      extension: { extensionList: { spot: 'true' } },
    },
  },
  'mpi-ssh': {
    jobTemplate: {
      remoteCommand: '/bin/sh',
      args: ['-c', 'cat /etc/cloudbatch-taskgroup-hosts'],
      jobCategory: 'ucdagru/bssh',
      candidateMachines: ['c2-standard-8'],
      minSlots: 4,
      maxSlots: 4,
      priority: 50,
      resourceLimits: { bootdiskmib: '10000', runtime: '15m' },
      extension: {
        extensionList: { prolog: '#!/bin/sh\n/usr/sbin/sshd -p 2022\n', epilog: '#!/bin/sh\necho done\n' },
      },
    },
  },
};
