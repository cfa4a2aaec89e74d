// JobTemplate -> CreateJobRequest, one rule at a time (the original library's mapping and the project's departures, docs/decisions.md).
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { defaultCpuMilli } from '../../../src/translate/compute.js';
import {
  busybox,
  ctx,
  errorsOf,
  kinds,
  mainContainer,
  only,
  runnablesOf,
  submit,
  templateErrors,
} from './helpers.js';

const script = { ...busybox, jobCategory: '$script$', remoteCommand: 'echo hi' };

describe('slots, validation and defaults', () => {
  it('defaults 0 slots to 1 and takes taskCount from maxSlots, parallelism from minSlots', () => {
    const group = only({ minSlots: 0, maxSlots: 0 }).job.taskGroups![0]!;
    assert.equal(group.taskCount, 1);
    assert.equal(group.parallelism, 1);
    const wide = only({ minSlots: 2, maxSlots: 5 }).job.taskGroups![0]!;
    assert.deepEqual([wide.taskCount, wide.parallelism], [5, 2]);
  });

  it('names the field of each violated rule', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ minSlots: 3, maxSlots: 2 }, 'spec.jobTemplate.minSlots: minSlots (3) must not exceed maxSlots (2)'],
      [
        { jobCategory: '' },
        'spec.jobTemplate.jobCategory: required: a container image, $script$ or $scriptpath$',
      ],
      [{ jobCategory: undefined }, 'spec.jobTemplate.jobCategory: required'],
      [{ candidateMachines: [] }, 'spec.jobTemplate.candidateMachines: required'],
      [{ candidateMachines: undefined }, 'spec.jobTemplate.candidateMachines: required'],
      [{ outputPath: '/a', errorPath: '/b' }, 'spec.jobTemplate.errorPath: must equal outputPath'],
      [{ priority: 100 }, 'spec.jobTemplate.priority: must be between 0 and 99'],
      [{ jobName: 'Upper' }, 'spec.jobTemplate.jobName: must be 1-63 characters'],
      [{ jobName: 'trailing-' }, 'spec.jobTemplate.jobName: must be'],
      [{ jobName: `a${'b'.repeat(63)}` }, 'spec.jobTemplate.jobName: must be'],
      [{ args: 'not a list' }, 'spec.jobTemplate.args: expected a list of strings'],
      [{ jobEnvironment: { A: 1 } }, 'spec.jobTemplate.jobEnvironment: expected a map of strings'],
      [{ startTime: 'tomorrow' }, 'spec.jobTemplate.startTime: expected an RFC 3339 time'],
      [{ submitAsHold: 'yes' }, 'spec.jobTemplate.submitAsHold: expected true or false'],
      [{ minSlots: -1 }, 'spec.jobTemplate.minSlots: expected a non-negative integer'],
      [{ maxSlots: 1.5 }, 'spec.jobTemplate.maxSlots: expected a non-negative integer'],
    ];
    for (const [change, expected] of cases) {
      const errors = templateErrors(change);
      assert.ok(
        errors.some((e) => e.startsWith(expected)),
        `${JSON.stringify(change)} -> ${errors.join(' | ')}`,
      );
    }
  });

  it('accepts equal outputPath and errorPath and uses the path for logs', () => {
    const request = only({ outputPath: '/mnt/logs/out', errorPath: '/mnt/logs/out' });
    assert.deepEqual(request.job.logsPolicy, { destination: 'PATH', logsPath: '/mnt/logs/out' });
  });

  it('reports garbage instead of throwing', () => {
    const garbage: unknown[] = [
      null,
      7,
      'x',
      [],
      { jobTemplate: null },
      { jobTemplate: [] },
      { jobTemplate: 3 },
    ];
    for (const spec of garbage) {
      const errors = errorsOf(spec as never);
      assert.ok(
        errors.every((e) => e.startsWith('spec')),
        errors.join(),
      );
    }
    assert.deepEqual(errorsOf({ jobTemplate: busybox, array: 'all' as never }), [
      'spec.array: expected {begin, end, step, maxParallel}',
    ]);
  });

  it('uses the base path the caller gives', () => {
    const result = errorsOf(
      { jobTemplate: { ...busybox, minSlots: 2, maxSlots: 1 } },
      { ...ctx, basePath: 'doc[2]' },
    );
    assert.match(result[0]!, /^doc\[2\]\.jobTemplate\.minSlots: /);
  });
});

describe('runnables', () => {
  it('single task: an always-present shebang prolog, container last, no barriers', () => {
    const runnables = runnablesOf(only({}));
    assert.deepEqual(kinds(runnables), ['script', 'container']);
    assert.equal(runnables[0]!.script!.text, '#!/bin/sh\n');
    assert.ok(runnables.every((r) => !r.background && !r.ignoreExitStatus && !r.alwaysRun));
  });

  it('multi-node: barriers around the prolog', () => {
    assert.deepEqual(kinds(runnablesOf(only({ minSlots: 3, maxSlots: 3 }))), [
      'barrier:before_job_barrier',
      'script',
      'barrier:after_prolog_barrier',
      'container',
    ]);
  });

  it('no barriers when minSlots < maxSlots; the epilog always runs', () => {
    const runnables = runnablesOf(
      only({ minSlots: 1, maxSlots: 3, extension: { extensionList: { prolog: 'p', epilog: 'e' } } }),
    );
    assert.deepEqual(kinds(runnables), ['script', 'container', 'script']);
    assert.deepEqual(runnables[0]!.script, { text: 'p' });
    assert.deepEqual(runnables[2], { script: { text: 'e' }, alwaysRun: true });
  });

  it('with barriers the epilog follows an after_job_barrier that ignores the exit status', () => {
    const runnables = runnablesOf(
      only({ minSlots: 2, maxSlots: 2, extension: { extensionList: { epilog: 'e' } } }),
    );
    assert.deepEqual(kinds(runnables).slice(4), ['barrier:after_job_barrier', 'script']);
    assert.equal(runnables[4]!.ignoreExitStatus, true);
    assert.equal(runnables[5]!.alwaysRun, true);
  });

  it('an empty epilog means none', () => {
    assert.equal(runnablesOf(only({ extension: { extensionList: { epilog: '' } } })).length, 2);
    const multiNode = { minSlots: 2, maxSlots: 2, extension: { extensionList: { epilog: '' } } };
    assert.equal(runnablesOf(only(multiNode)).length, 4);
  });

  it('$script$ runs the command as text and $scriptpath$ as a path; args are not used', () => {
    assert.deepEqual(runnablesOf(only({ ...script, args: ['x'] })).at(-1), { script: { text: 'echo hi' } });
    assert.deepEqual(
      runnablesOf(only({ jobCategory: '$scriptpath$', remoteCommand: '/opt/run.sh' })).at(-1),
      {
        script: { path: '/opt/run.sh' },
      },
    );
  });

  it('a container without a command keeps the image entrypoint', () => {
    const container = mainContainer(only({ remoteCommand: undefined, args: undefined }));
    assert.equal(container.entrypoint, undefined);
    assert.deepEqual(container.commands, []);
  });
});

describe('safe containers', () => {
  it('a single-node job gets no host namespaces, no --privileged and no host ssh mounts', () => {
    for (const change of [{}, { minSlots: 1, maxSlots: 4 }]) {
      const container = mainContainer(only(change));
      assert.equal(container.options, undefined, JSON.stringify(change));
      assert.equal(container.volumes, undefined, JSON.stringify(change));
    }
  });

  it('a multi-node job (minSlots == maxSlots > 1) gets them for MPI over ssh', () => {
    const container = mainContainer(only({ minSlots: 2, maxSlots: 2 }));
    assert.equal(container.options, '--network=host --ipc=host --pid=host --privileged --uts=host');
    assert.deepEqual(container.volumes, [
      '/etc/cloudbatch-taskgroup-hosts:/etc/cloudbatch-taskgroup-hosts',
      '/etc/ssh:/etc/ssh',
      '/root/.ssh:/root/.ssh',
    ]);
  });

  it('NVIDIA accelerators add the GPU devices to the container', () => {
    const container = mainContainer(
      only({ extension: { extensionList: { accelerators: '2*nvidia-tesla-t4' } } }),
    );
    assert.equal(
      container.options,
      '--gpus all --device /dev/nvidiactl --device /dev/nvidia-uvm --device /dev/nvidia-uvm-tools --device /dev/nvidia0 --device /dev/nvidia1',
    );
  });

  it('docker_options replaces the options, and needs a container', () => {
    const container = mainContainer(
      only({ minSlots: 2, maxSlots: 2, extension: { extensionList: { docker_options: '--shm-size=1g' } } }),
    );
    assert.equal(container.options, '--shm-size=1g');
    assert.equal(mainContainer(only({ extension: { extensionList: { docker_options: '' } } })).options, '');
    assert.deepEqual(templateErrors({ ...script, extension: { extensionList: { docker_options: '-x' } } }), [
      'spec.jobTemplate.extension.extensionList.docker_options: docker options need a container image as jobCategory',
    ]);
  });
});

describe('compute resources', () => {
  it('derives cpuMilli from the vCPUs in the machine type name', () => {
    const table: [string, number][] = [
      ['e2-standard-4', 4000],
      ['n2-standard-2', 2000],
      ['m1-ultramem-160', 160000],
      ['e2-medium', 2000],
      ['a2-highgpu-1g', 2000],
      ['c3-standard-8-lssd', 8000],
      ['n2-custom-4-8192', 4000],
      ['n2-custom-4-8192-ext', 4000],
      ['custom-6-16384', 6000],
      ['template:x', 2000],
      ['', 2000],
    ];
    for (const [machine, milli] of table) assert.equal(defaultCpuMilli(machine), milli, machine);
  });

  it('resource limits override cpuMilli and bootDiskMib and set maxRunDuration; minPhysMemory is memoryMib', () => {
    const request = only({
      candidateMachines: ['n2-custom-4-8192'],
      minPhysMemory: 2048,
      resourceLimits: { cpumilli: '1500', bootdiskmib: '20000', runtime: '1h30m1.5s' },
    });
    const spec = request.job.taskGroups![0]!.taskSpec!;
    assert.deepEqual(spec.computeResource, { cpuMilli: 1500, bootDiskMib: 20000, memoryMib: 2048 });
    assert.equal(spec.maxRunDuration, '5401.5s');
    assert.equal(only({}).job.taskGroups![0]!.taskSpec!.maxRunDuration, undefined);
  });

  it('bad resource limits are errors at their key, unknown keys warnings', () => {
    const cases: [Record<string, string>, string][] = [
      [
        { runtime: '2d' },
        'spec.jobTemplate.resourceLimits.runtime: expected a duration such as 30m or 1h30m, got "2d"',
      ],
      [{ runtime: '0s' }, 'spec.jobTemplate.resourceLimits.runtime: expected a duration'],
      [{ runtime: '-5m' }, 'spec.jobTemplate.resourceLimits.runtime: expected a duration'],
      [
        { cpumilli: 'lots' },
        'spec.jobTemplate.resourceLimits.cpumilli: expected a positive integer, got "lots"',
      ],
      [{ bootdiskmib: '0' }, 'spec.jobTemplate.resourceLimits.bootdiskmib: expected a positive integer'],
    ];
    for (const [limits, expected] of cases) {
      const errors = templateErrors({ resourceLimits: limits });
      assert.ok(
        errors.some((e) => e.startsWith(expected)),
        `${JSON.stringify(limits)} -> ${errors.join(' | ')}`,
      );
    }
    const { warnings } = submit({ jobTemplate: { ...busybox, resourceLimits: { memory: '4G' } } });
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['spec.jobTemplate.resourceLimits.memory'],
    );
  });
});

describe('allocation policy', () => {
  it('machine type with CPU platform, spot, reservation and accelerators', () => {
    const request = only({
      machineArch: 'Intel Cascade Lake',
      reservationID: 'res-1',
      extension: { extensionList: { spot: 'True', accelerators: '1*nvidia-l4' } },
    });
    assert.deepEqual(request.job.allocationPolicy!.instances, [
      {
        policy: {
          machineType: 'n2-standard-2',
          minCpuPlatform: 'Intel Cascade Lake',
          provisioningModel: 'SPOT',
          reservation: 'res-1',
          accelerators: [{ type: 'nvidia-l4', count: 1 }],
        },
        installGpuDrivers: true,
      },
    ]);
  });

  it('non-NVIDIA accelerators install no drivers and add no devices', () => {
    const request = only({ extension: { extensionList: { accelerators: '4*ct5lp-hightpu-4t' } } });
    assert.equal(request.job.allocationPolicy!.instances![0]!.installGpuDrivers, false);
    assert.equal(mainContainer(request).options, undefined);
  });

  it('an instance template takes the name up to the next colon and reports what it overrides', () => {
    const sub = submit({
      jobTemplate: {
        ...busybox,
        candidateMachines: ['template:gpu-template:ignored'],
        machineArch: 'Intel Ice Lake',
        extension: { extensionList: { spot: 'true' } },
      },
    });
    assert.deepEqual(sub.requests[0]!.job.allocationPolicy!.instances, [
      { instanceTemplate: 'gpu-template' },
    ]);
    assert.deepEqual(sub.warnings.map((w) => w.path).sort(), [
      'spec.jobTemplate.extension.extensionList.spot',
      'spec.jobTemplate.machineArch',
    ]);
    assert.deepEqual(templateErrors({ candidateMachines: ['template:'] }), [
      'spec.jobTemplate.candidateMachines[0]: expected template:<instance-template name>',
    ]);
  });

  it('labels propagate to the VMs', () => {
    const request = only({ accountingString: 'team-a' });
    assert.deepEqual(request.job.allocationPolicy!.labels, request.job.labels);
  });
});

describe('labels and environment', () => {
  it('carries session, accounting, origin and the owning resource', () => {
    assert.deepEqual(only({ accountingString: 'team_a-1' }).job.labels, {
      origin: 'drmaa2-batch-controller',
      drmaa2session: 'testsession',
      accounting: 'team_a-1',
      'drmaa2-namespace': 'team',
      'drmaa2-name': 'hello-world',
      'drmaa2-uid': '6c1f1c52-9d7a-4f7e-8b5e-0a1b2c3d4e5f',
    });
  });

  it('fits a resource name that is no label value; without an owner there are no owner labels', () => {
    const long = { namespace: 'ns', name: `a.${'b'.repeat(80)}`, uid: 'u-1' };
    const labels = only({}, { ...ctx, owner: long }).job.labels!;
    assert.equal(labels['drmaa2-name'], `a-${'b'.repeat(61)}`);
    assert.equal(labels['drmaa2-uid'], 'u-1');
    const anonymous = only({}, { project: 'p', location: 'l', session: 's', now: new Date(0), nonce: 1 });
    assert.deepEqual(Object.keys(anonymous.job.labels!).sort(), ['accounting', 'drmaa2session', 'origin']);
  });

  it('an accounting string or session that is no label value is an error', () => {
    assert.match(
      templateErrors({ accountingString: 'Team A' })[0]!,
      /^spec\.jobTemplate\.accountingString: must be a Batch label value/,
    );
    assert.match(
      templateErrors({ accountingString: 'a'.repeat(64) })[0]!,
      /^spec\.jobTemplate\.accountingString: /,
    );
    assert.deepEqual(errorsOf({ jobTemplate: busybox }, { ...ctx, session: 'My Session' }), [
      'session: invalid session label value "My Session"',
    ]);
  });

  it('copies jobEnvironment, adds the template and the decoded secret variables', () => {
    const secrets = { TOKEN: 'projects/p/secrets/token/versions/1' };
    const encoded = Buffer.from(JSON.stringify(secrets)).toString('base64');
    const environment = { A: '1', B: 'two' };
    const template = {
      ...busybox,
      jobEnvironment: environment,
      extension: { extensionList: { secret_env: encoded } },
    };
    const env = submit({ jobTemplate: template }).requests[0]!.job.taskGroups![0]!.taskSpec!.environment!;
    assert.equal(env.variables!.A, '1');
    assert.equal(env.variables!.B, 'two');
    assert.deepEqual(
      JSON.parse(Buffer.from(env.variables!.DRMAA2_JOB_TEMPLATE!, 'base64').toString()),
      template,
    );
    assert.deepEqual(env.secretVariables, secrets);
    assert.deepEqual(environment, { A: '1', B: 'two' }, 'the caller map is not changed');
  });

  it('secret_env that is not base64 of a JSON object of strings is an error', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    for (const value of ['%%%', b64('not json'), b64('[1]'), b64('{"A": 1}')]) {
      const errors = templateErrors({ extension: { extensionList: { secret_env: value } } });
      assert.ok(
        errors.every((e) =>
          e.startsWith('spec.jobTemplate.extension.extensionList.secret_env: expected base64'),
        ),
        `${value} -> ${errors.join()}`,
      );
    }
  });
});

describe('extensions', () => {
  it('parses spot, tasks_per_node and priority', () => {
    const request = only({ priority: 7, extension: { extensionList: { spot: 'f', tasks_per_node: '3' } } });
    assert.equal(request.job.priority, 7);
    assert.equal(request.job.taskGroups![0]!.taskCountPerNode, 3);
    assert.equal(request.job.allocationPolicy!.instances![0]!.policy!.provisioningModel, 'STANDARD');
  });

  it('as in the original library: a bare accelerator type is one, an empty prolog or epilog is none, an empty jobName is unset', () => {
    const gpu = only({ extension: { extensionList: { accelerators: 'nvidia-l4' } } });
    assert.deepEqual(gpu.job.allocationPolicy!.instances![0]!.policy!.accelerators, [
      { type: 'nvidia-l4', count: 1 },
    ]);
    const scripts = only({ extension: { extensionList: { prolog: '', epilog: '' } } });
    const texts = scripts.job.taskGroups![0]!.taskSpec!.runnables!.map((r) => r.script?.text);
    assert.ok(
      texts.every((t) => t === undefined || t.trim() !== ''),
      'no runnable with empty script text',
    );
    assert.equal(scripts.job.taskGroups![0]!.taskSpec!.runnables!.filter((r) => r.alwaysRun).length, 0);
    assert.match(
      only({ jobName: '' }).jobId,
      /^hello-world-[0-9a-f]{8}$/,
      'an ID generated for an empty jobName',
    );
  });

  it('bad values are errors at their key', () => {
    const cases: [Record<string, string>, string][] = [
      [{ spot: 'yes' }, 'spot: expected a boolean (true/false), got "yes"'],
      [{ accelerators: '0*nvidia-l4' }, 'accelerators: expected N*type'],
      [{ tasks_per_node: 'two' }, 'tasks_per_node: expected a positive integer, got "two"'],
    ];
    for (const [list, expected] of cases) {
      assert.deepEqual(
        templateErrors({ extension: { extensionList: list } }).map((e) =>
          e.slice(0, `spec.jobTemplate.extension.extensionList.${expected}`.length),
        ),
        [`spec.jobTemplate.extension.extensionList.${expected}`],
      );
    }
  });
});

describe('warnings for fields Batch cannot honour', () => {
  it('names each one; startTime is no warning (the controller waits for it)', () => {
    const { warnings } = submit({
      jobTemplate: {
        ...busybox,
        submitAsHold: true,
        reRunnable: true,
        workingDirectory: '/w',
        email: ['a@example.com'],
        emailOnStarted: true,
        emailOnTerminated: true,
        inputPath: '/in',
        outputPath: '/out',
        errorPath: '/out',
        joinFiles: true,
        queueName: 'q',
        machineOs: 'Linux',
        startTime: '2030-01-01T00:00:00Z',
        deadlineTime: '2030-01-02T00:00:00Z',
        candidateMachines: ['n2-standard-2', 'e2-standard-4'],
        extension: { extensionList: { colour: 'red' } },
      },
    });
    const paths = warnings.map((w) => w.path.replace('spec.jobTemplate.', '')).sort();
    assert.deepEqual(paths, [
      'candidateMachines',
      'deadlineTime',
      'email',
      'emailOnStarted',
      'emailOnTerminated',
      'errorPath',
      'extension.extensionList.colour',
      'inputPath',
      'joinFiles',
      'machineOs',
      'outputPath',
      'queueName',
      'reRunnable',
      'submitAsHold',
      'workingDirectory',
    ]);
  });

  it('false and empty values are not warned about', () => {
    const { warnings } = submit({
      jobTemplate: { ...busybox, submitAsHold: false, email: [], queueName: '' },
    });
    assert.deepEqual(warnings, []);
  });
});
