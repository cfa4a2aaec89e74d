// Stage-in and stage-out with the original library's faults fixed (docs/decisions.md): real
// `localhost:` mounts, one mount per path, unknown schemes rejected, the same order for the same template.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { busybox, mainContainer, only, submit, templateErrors } from './helpers.js';

const script = { ...busybox, jobCategory: '$script$', remoteCommand: 'ls' };

function volumesOf(change: Record<string, unknown>) {
  return only(change).job.taskGroups![0]!.taskSpec!.volumes;
}

describe('stage-in', () => {
  it('mounts a bucket path as a GCS volume and binds it into the container', () => {
    const request = only({ stageInFiles: { '/data': 'gs://in-bucket/refs/' } });
    assert.deepEqual(request.job.taskGroups![0]!.taskSpec!.volumes, [
      { gcs: { remotePath: 'in-bucket/refs' }, mountPath: '/data' },
    ]);
    assert.deepEqual(mainContainer(request).volumes, ['/data:/data']);
  });

  it('script jobs get the volume only', () => {
    const request = only({ ...script, stageInFiles: { '/data': 'gs://in-bucket' } });
    assert.deepEqual(request.job.taskGroups![0]!.taskSpec!.volumes, [
      { gcs: { remotePath: 'in-bucket' }, mountPath: '/data' },
    ]);
  });

  it('NFS for containers: one host mount per server directory, files bound where the template asks', () => {
    const request = only({
      stageInFiles: {
        '/in/a.txt': 'nfs:filer:/share/a.txt',
        '/in/b.txt': 'nfs:filer:/share/b.txt',
        '/in/all': 'nfs:filer:/share/',
      },
    });
    assert.deepEqual(request.job.taskGroups![0]!.taskSpec!.volumes, [
      { nfs: { server: 'filer', remotePath: '/share/' }, mountPath: '/mnt/share' },
    ]);
    assert.deepEqual(mainContainer(request).volumes, [
      '/mnt/share/a.txt:/in/a.txt',
      '/mnt/share:/in/all',
      '/mnt/share/b.txt:/in/b.txt',
    ]);
  });

  it('NFS for script jobs mounts the directory at the target; a single file cannot be', () => {
    assert.deepEqual(volumesOf({ ...script, stageInFiles: { '/refs': 'nfs:filer:/share/refs/' } }), [
      { nfs: { server: 'filer', remotePath: '/share/refs/' }, mountPath: '/refs' },
    ]);
    assert.match(
      templateErrors({ ...script, stageInFiles: { '/f': 'nfs:filer:/share/f.txt' } })[0]!,
      /^spec\.jobTemplate\.stageInFiles\["\/f"\]: script jobs can stage in NFS directories only/,
    );
  });

  it('localhost: binds a host path into a container; script jobs reject it', () => {
    const request = only({ stageInFiles: { '/scratch': 'localhost:/mnt/disks/scratch' } });
    assert.deepEqual(mainContainer(request).volumes, ['/mnt/disks/scratch:/scratch']);
    assert.equal(request.job.taskGroups![0]!.taskSpec!.volumes, undefined);
    assert.deepEqual(templateErrors({ ...script, stageInFiles: { '/s': 'localhost:/x' } }), [
      'spec.jobTemplate.stageInFiles["/s"]: localhost: sources are only valid for container jobs',
    ]);
  });

  it('rejects unknown schemes, malformed sources and relative paths at the entry', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ '/d': 'ftp://x' }, 'spec.jobTemplate.stageInFiles["/d"]: unsupported source "ftp://x"'],
      [{ '/d': 'b64data:aGk=' }, 'spec.jobTemplate.stageInFiles["/d"]: unsupported source'],
      [{ '/d': 'locahost:/x' }, 'spec.jobTemplate.stageInFiles["/d"]: unsupported source'],
      [
        { '/d': 'nfs:server-only' },
        'spec.jobTemplate.stageInFiles["/d"]: expected nfs:<server>:<absolute path>',
      ],
      [{ '/d': 'nfs:s:/a:b' }, 'spec.jobTemplate.stageInFiles["/d"]: expected nfs:'],
      [{ '/d': 'gs://' }, 'spec.jobTemplate.stageInFiles["/d"]: invalid Cloud Storage URI "gs://"'],
      [{ '/d': 'gs://UPPER' }, 'spec.jobTemplate.stageInFiles["/d"]: invalid Cloud Storage URI'],
      [
        { '/d': 'localhost:relative' },
        'spec.jobTemplate.stageInFiles["/d"]: expected localhost:<absolute path>',
      ],
      [{ data: 'gs://bucket-a' }, 'spec.jobTemplate.stageInFiles["data"]: the path "data" must be absolute'],
    ];
    for (const [files, expected] of cases) {
      const errors = templateErrors({ stageInFiles: files });
      assert.ok(
        errors.some((e) => e.startsWith(expected)),
        `${JSON.stringify(files)} -> ${errors.join(' | ')}`,
      );
    }
  });
});

describe('stage-out', () => {
  it('mounts the destination and lists its bucket (the bucket part only) once', () => {
    const sub = submit({
      jobTemplate: {
        ...busybox,
        stageOutFiles: { '/out/a': 'gs://results/run-1', '/out/b': 'gs://results/run-2' },
      },
    });
    assert.deepEqual(sub.buckets, ['results']);
    assert.deepEqual(sub.requests[0]!.job.taskGroups![0]!.taskSpec!.volumes, [
      { gcs: { remotePath: 'results/run-1' }, mountPath: '/out/a' },
      { gcs: { remotePath: 'results/run-2' }, mountPath: '/out/b' },
    ]);
  });

  it('a bucket staged in and out at the same path is mounted once', () => {
    const request = only({
      stageInFiles: { '/work': 'gs://shared' },
      stageOutFiles: { '/work': 'gs://shared/' },
    });
    assert.equal(request.job.taskGroups![0]!.taskSpec!.volumes!.length, 1);
    assert.deepEqual(mainContainer(request).volumes, ['/work:/work']);
  });

  it('two sources on one path are an error at the second', () => {
    assert.deepEqual(
      templateErrors({ stageInFiles: { '/work': 'gs://one' }, stageOutFiles: { '/work': 'gs://two' } }),
      ['spec.jobTemplate.stageOutFiles["/work"]: /work is already staged from "gs://one"'],
    );
  });

  it('only gs:// destinations are accepted', () => {
    for (const destination of ['nfs:a:/b/', 'localhost:/x', 's3://b']) {
      assert.match(
        templateErrors({ stageOutFiles: { '/d': destination } })[0]!,
        /^spec\.jobTemplate\.stageOutFiles\["\/d"\]: stage-out destinations must be gs:\/\/ URIs/,
      );
    }
  });

  it('gives the same volumes whatever order the keys come in', () => {
    const forward = { '/a': 'gs://bucket-a', '/b': 'gs://bucket-b', '/c': 'gs://bucket-c' };
    const backward = Object.fromEntries(Object.entries(forward).reverse());
    const a = submit({ jobTemplate: { ...busybox, stageOutFiles: forward } });
    const b = submit({ jobTemplate: { ...busybox, stageOutFiles: backward } });
    assert.deepEqual(
      a.requests[0]!.job.taskGroups,
      b.requests[0]!.job.taskGroups!.map((g) => ({
        ...g,
        taskSpec: { ...g.taskSpec, environment: a.requests[0]!.job.taskGroups![0]!.taskSpec!.environment },
      })),
    );
    assert.deepEqual(a.buckets, ['bucket-a', 'bucket-b', 'bucket-c']);
    assert.deepEqual(b.buckets, a.buckets);
  });
});

describe('outputPath: Batch writes the log on the VM', () => {
  const at = 'spec.jobTemplate.outputPath';

  function logsOf(change: Record<string, unknown>) {
    const sub = submit({ jobTemplate: { ...busybox, ...change } });
    const job = sub.requests[0]!.job;
    return {
      logsPolicy: job.logsPolicy,
      volumes: job.taskGroups![0]!.taskSpec!.volumes,
      buckets: sub.buckets,
      warnings: sub.warnings.filter((w) => w.path === at),
      container: mainContainer(sub.requests[0]!),
    };
  }

  it('gs://: the bucket is mounted where Batch mounts buckets, the log is the file under it, the bucket ensured', () => {
    const logs = logsOf({ outputPath: 'gs://run-logs/2025/job.log' });
    assert.deepEqual(logs.logsPolicy, { destination: 'PATH', logsPath: '/mnt/disks/run-logs/2025/job.log' });
    assert.deepEqual(logs.volumes, [{ gcs: { remotePath: 'run-logs' }, mountPath: '/mnt/disks/run-logs' }]);
    assert.deepEqual(logs.buckets, ['run-logs']);
    assert.deepEqual(logs.warnings, []);
    assert.equal(logs.container.volumes, undefined, 'the agent writes the log, not the container');
  });

  it('gs:// with errorPath equal to it is accepted; a different errorPath is still an error', () => {
    const same = logsOf({ outputPath: 'gs://run-logs/job.log', errorPath: 'gs://run-logs/job.log' });
    assert.equal(same.logsPolicy!.logsPath, '/mnt/disks/run-logs/job.log');
    assert.deepEqual(
      templateErrors({ outputPath: 'gs://run-logs/a.log', errorPath: 'gs://run-logs/b.log' }),
      ['spec.jobTemplate.errorPath: must equal outputPath (Batch logs stdout and stderr together)'],
    );
  });

  it('a bucket the job already mounts over the log file is used, not mounted again', () => {
    const staged = logsOf({
      stageOutFiles: { '/host': 'gs://results/run-1' },
      outputPath: 'gs://results/run-1/logs/job.log',
    });
    assert.equal(staged.logsPolicy!.logsPath, '/host/logs/job.log');
    assert.deepEqual(staged.volumes, [{ gcs: { remotePath: 'results/run-1' }, mountPath: '/host' }]);
    assert.deepEqual(staged.buckets, ['results']);
    const root = logsOf({ stageInFiles: { '/data': 'gs://results' }, outputPath: 'gs://results/job.log' });
    assert.equal(root.logsPolicy!.logsPath, '/data/job.log');
    assert.equal(root.volumes!.length, 1);
    assert.deepEqual(root.buckets, ['results'], 'written to, so ensured like a stage-out bucket');
  });

  it('a mount of another directory of the bucket does not hold the log: the bucket is mounted for it', () => {
    const logs = logsOf({
      stageInFiles: { '/refs': 'gs://results/refs' },
      outputPath: 'gs://results/refs-old/job.log',
    });
    assert.equal(logs.logsPolicy!.logsPath, '/mnt/disks/results/refs-old/job.log');
    assert.deepEqual(logs.volumes, [
      { gcs: { remotePath: 'results/refs' }, mountPath: '/refs' },
      { gcs: { remotePath: 'results' }, mountPath: '/mnt/disks/results' },
    ]);
  });

  it('a gs:// outputPath that names no file, or no valid bucket, is an error at outputPath', () => {
    for (const uri of [
      'gs://',
      'gs://run-logs',
      'gs://run-logs/',
      'gs://run-logs/dir/',
      'gs://UPPER/x.log',
    ]) {
      assert.deepEqual(
        templateErrors({ outputPath: uri }),
        [`${at}: expected gs://<bucket>/<path of the log file>, got ${JSON.stringify(uri)}`],
        uri,
      );
    }
  });

  it("the bucket's mount point already staged from elsewhere is an error at outputPath", () => {
    assert.deepEqual(
      templateErrors({
        stageInFiles: { '/mnt/disks/run-logs': 'gs://other' },
        outputPath: 'gs://run-logs/x.log',
      }),
      [`${at}: /mnt/disks/run-logs is already staged from "gs://other"`],
    );
  });

  it('a local path under no volume of the job: kept, with a warning that the log is lost with the VM', () => {
    const logs = logsOf({ outputPath: '/var/log/job.log' });
    assert.deepEqual(logs.logsPolicy, { destination: 'PATH', logsPath: '/var/log/job.log' });
    assert.deepEqual(logs.warnings, [
      {
        path: at,
        message:
          'Batch writes the log to "/var/log/job.log" on the VM, and no volume of the job is mounted there: the log is lost with the VM (a gs://<bucket>/<file> outputPath keeps it)',
      },
    ]);
    assert.equal(
      logsOf({ stageOutFiles: { '/host': 'gs://out' }, outputPath: '/hostile/x' }).warnings.length,
      1,
    );
  });

  it('a local path under a volume the job mounts on the VM is kept without a warning', () => {
    assert.deepEqual(
      logsOf({ stageOutFiles: { '/host': 'gs://out' }, outputPath: '/host/job.log' }).warnings,
      [],
    );
    const nfs = { stageInFiles: { '/in/all': 'nfs:filer:/share/' } };
    assert.deepEqual(logsOf({ ...nfs, outputPath: '/mnt/share/job.log' }).warnings, []);
    assert.equal(
      logsOf({ ...nfs, outputPath: '/in/all/job.log' }).warnings.length,
      1,
      "a container's bind target is no path on the VM",
    );
    const scriptNfs = submit({
      jobTemplate: {
        ...script,
        stageInFiles: { '/refs': 'nfs:filer:/share/refs/' },
        outputPath: '/refs/job.log',
      },
    });
    assert.deepEqual(scriptNfs.warnings, []);
  });

  it('no outputPath, or an empty one: Cloud Logging, nothing mounted', () => {
    for (const change of [{}, { outputPath: '' }]) {
      const logs = logsOf(change);
      assert.deepEqual(logs.logsPolicy, { destination: 'CLOUD_LOGGING' });
      assert.equal(logs.volumes, undefined);
    }
  });
});
