// A BatchProfile's security levels and allow-lists: every row of the README's level table at every level,
// and every allow-list matched, missed, absent, empty and by pattern.
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { SecurityLevel } from '../../../src/api/batchProfile.js';
import { matchesPattern, securityLevelTable } from '../../../src/translate/index.js';
import { busybox } from './helpers.js';
import { accepted, judge, refused } from './policyHelpers.js';

const LEVELS: SecurityLevel[] = ['restricted', 'baseline', 'privileged'];
const secretEnv = (map: Record<string, string>) => Buffer.from(JSON.stringify(map)).toString('base64');
const script = { jobCategory: '$script$', remoteCommand: 'echo hi' };

/** Each row of the level table: a template that does it, the levels that allow it, and where a refusal
 * points. The expectations are written out, not taken from the table in the source. */
const ROWS: {
  name: string;
  change: Record<string, unknown>;
  allowedAt: SecurityLevel[];
  at?: string;
  needs?: string;
}[] = [
  { name: 'an unprivileged container', change: {}, allowedAt: LEVELS },
  {
    name: '$script$',
    change: script,
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.jobCategory',
    needs: 'jobCategory $script$ needs baseline',
  },
  {
    name: '$scriptpath$',
    change: { jobCategory: '$scriptpath$', remoteCommand: '/opt/run.sh' },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.jobCategory',
    needs: 'jobCategory $scriptpath$ needs baseline',
  },
  {
    name: 'prolog',
    change: { extension: { extensionList: { prolog: '#!/bin/sh\necho\n' } } },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.extension.extensionList.prolog',
    needs: 'prolog needs baseline',
  },
  {
    name: 'epilog',
    change: { extension: { extensionList: { epilog: '#!/bin/sh\necho\n' } } },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.extension.extensionList.epilog',
    needs: 'epilog needs baseline',
  },
  {
    name: 'a multi-node job',
    change: { minSlots: 2, maxSlots: 2 },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.maxSlots',
    needs: 'a multi-node job (minSlots == maxSlots > 1) needs baseline',
  },
  {
    name: 'LD_PRELOAD in jobEnvironment',
    change: { jobEnvironment: { LD_PRELOAD: '/data/x.so' }, stageInFiles: { '/data': 'gs://in-bucket' } },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.jobEnvironment.LD_PRELOAD',
    needs: 'the environment variable LD_PRELOAD needs baseline',
  },
  {
    name: 'BASH_ENV from secret_env',
    change: {
      extension: {
        extensionList: { secret_env: secretEnv({ BASH_ENV: 'projects/p/secrets/s/versions/1' }) },
      },
    },
    allowedAt: ['baseline', 'privileged'],
    at: 'spec.jobTemplate.extension.extensionList.secret_env',
    needs: 'the environment variable BASH_ENV needs baseline',
  },
  {
    name: 'a localhost: source',
    change: { stageInFiles: { '/scratch': 'localhost:/mnt/disks/scratch' } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.stageInFiles["/scratch"]',
    needs: 'a localhost: source needs privileged',
  },
  {
    name: 'a bucket mounted over the VM’s /etc/ssh',
    change: { stageInFiles: { '/etc/ssh': 'gs://in-bucket' } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.stageInFiles["/etc/ssh"]',
    needs: "a mount in the VM's /etc (/etc/ssh) needs privileged",
  },
  {
    name: 'a stage-out target that climbs into /usr',
    change: { stageOutFiles: { '/data/../usr/local/bin': 'gs://outb' } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.stageOutFiles["/data/../usr/local/bin"]',
    needs: "a mount in the VM's /usr (/data/../usr/local/bin) needs privileged",
  },
  {
    name: 'a bucket mounted over the VM’s root',
    change: { stageInFiles: { '/': 'gs://in-bucket' } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.stageInFiles["/"]',
    needs: "a mount in the VM's / (/) needs privileged",
  },
  {
    name: 'an NFS share whose host mount climbs into /etc',
    change: { stageInFiles: { '/in/x': 'nfs:filer:/../etc/x' } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.stageInFiles["/in/x"]',
    needs: "a mount in the VM's /etc (/mnt/../etc) needs privileged",
  },
  {
    name: 'a local log in the VM’s /root',
    change: { outputPath: '/root/.ssh/authorized_keys' },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.outputPath',
    needs: "a log file in the VM's /root (/root/.ssh/authorized_keys) needs privileged",
  },
  {
    name: 'docker_options',
    change: { extension: { extensionList: { docker_options: '--privileged' } } },
    allowedAt: ['privileged'],
    at: 'spec.jobTemplate.extension.extensionList.docker_options',
    needs: 'docker_options needs privileged',
  },
];

describe('security levels', () => {
  for (const row of ROWS) {
    for (const level of LEVELS) {
      const allowed = row.allowedAt.includes(level);
      it(`${row.name} at ${level}: ${allowed ? 'allowed' : 'refused'}`, () => {
        if (allowed) {
          accepted(row.change, { securityLevel: level });
          return;
        }
        assert.deepEqual(refused(row.change, { securityLevel: level }), [
          `${row.at}: not allowed by BatchProfile team-a (securityLevel ${level}): ${row.needs}`,
        ]);
      });
    }
  }

  it('a profile without a level is restricted', () => {
    assert.deepEqual(refused(script, {}), [
      'spec.jobTemplate.jobCategory: not allowed by BatchProfile team-a (securityLevel restricted): jobCategory $script$ needs baseline',
    ]);
  });

  it('restricted still allows what reaches nothing beyond the container', () => {
    accepted(
      {
        stageInFiles: {
          '/data': 'gs://in-bucket',
          '/refs': 'nfs:filer:/share/refs/',
          '/tmp/x': 'gs://in-bucket/x',
        },
        stageOutFiles: { '/mnt/disks/out': 'gs://outb', '/etcetera': 'gs://outb/e' },
        outputPath: 'gs://logs/job.log',
        jobEnvironment: { PATH: '/usr/bin', TMPDIR: '/data/tmp', MY_LD_PRELOAD: 'x' },
        extension: {
          extensionList: { prolog: '', epilog: '', docker_options: ' ', accelerators: '1*nvidia-tesla-t4' },
        },
      },
      {},
    );
  });

  it('script jobs are judged as what they are, root on the VM: their mounts are not host escapes', () => {
    accepted(
      { ...script, stageInFiles: { '/etc/refs': 'gs://in-bucket' }, outputPath: '/var/log/job.log' },
      {
        securityLevel: 'baseline',
      },
    );
  });

  it('every rule the template breaks is reported at once', () => {
    const errors = refused(
      { ...script, extension: { extensionList: { prolog: 'x', epilog: 'y' } } },
      { securityLevel: 'restricted', allowed: { machineTypes: ['e2-*'] } },
    );
    assert.deepEqual(
      errors.map((e) => e.slice(0, e.indexOf(':'))),
      [
        'spec.jobTemplate.jobCategory',
        'spec.jobTemplate.extension.extensionList.prolog',
        'spec.jobTemplate.extension.extensionList.epilog',
        'spec.jobTemplate.candidateMachines[0]',
      ],
    );
  });

  it('the README table is the enforced table', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Security levels and allow-lists');
    assert.ok(start >= 0, 'the README has the section');
    const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
    assert.ok(
      section.includes(`\n${securityLevelTable()}\n`),
      'the README table equals securityLevelTable()',
    );
    assert.equal(
      securityLevelTable().split('\n').length,
      2 + 8,
      'a header and eight rows: six for what leaves the container by design, two for what reaches the VM unasked',
    );
  });
});

describe('patterns', () => {
  const cases: [string, string, boolean][] = [
    ['e2-*', 'e2-standard-4', true],
    ['e2-*', 'e2-', true],
    ['e2-*', 'n2-standard-4', false],
    ['n2-standard-*', 'n2-highmem-96', false],
    ['*', 'anything/at:all', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['exact', 'inexact', false],
    ['*-t4', 'nvidia-tesla-t4', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXcYYb', false],
    ['team.a', 'teamXa', false],
    ['**', '', true],
    ['*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000), false],
  ];
  it.each(cases)('%s against %s: %s', (pattern, value, expected) => {
    assert.equal(matchesPattern(pattern, value), expected);
  });
});

describe('allow-lists', () => {
  const T4 = { extension: { extensionList: { accelerators: '1*nvidia-tesla-t4' } } };
  /** One list: a template naming `value` at `at`, with `what` in the message. */
  const LISTS: {
    list: string;
    change: Record<string, unknown>;
    value: string;
    matching: string;
    at: string;
    what: string;
    spec?: Record<string, unknown>;
    /** Entries that do not allow the value. */
    others?: string[];
  }[] = [
    {
      list: 'machineTypes',
      change: { candidateMachines: ['n2-highmem-96'] },
      value: 'n2-highmem-96',
      matching: 'n2-*',
      at: 'spec.jobTemplate.candidateMachines[0]',
      what: 'machine type',
    },
    {
      list: 'instanceTemplates',
      change: { candidateMachines: ['template:gpu-box'] },
      value: 'gpu-box',
      matching: 'gpu-*',
      at: 'spec.jobTemplate.candidateMachines[0]',
      what: 'instance template',
    },
    {
      list: 'accelerators',
      change: T4,
      value: 'nvidia-tesla-t4',
      matching: 'nvidia-*',
      at: 'spec.jobTemplate.extension.extensionList.accelerators',
      what: 'accelerator',
    },
    {
      list: 'reservations',
      change: { reservationID: 'res-1' },
      value: 'res-1',
      matching: 'res-*',
      at: 'spec.jobTemplate.reservationID',
      what: 'reservation',
    },
    {
      list: 'nfsServers',
      change: { stageInFiles: { '/in': 'nfs:filer.team-a:/share/' } },
      value: 'filer.team-a',
      matching: '*.team-a',
      at: 'spec.jobTemplate.stageInFiles["/in"]',
      what: 'NFS server',
    },
    {
      list: 'deletionPolicies',
      change: {},
      spec: { deletionPolicy: 'Orphan' },
      value: 'Orphan',
      matching: 'Orphan',
      at: 'spec.deletionPolicy',
      what: 'deletionPolicy',
      others: ['Delete'],
    },
  ];

  for (const l of LISTS) {
    describe(l.list, () => {
      it('absent: unrestricted', () => {
        accepted(l.change, {}, l.spec);
      });
      it('listed by name', () => {
        accepted(l.change, { allowed: { [l.list]: [...(l.others ?? ['other']), l.value] } }, l.spec);
      });
      it('listed by pattern', () => {
        accepted(l.change, { allowed: { [l.list]: [l.matching] } }, l.spec);
      });
      it('not listed: refused, naming the list', () => {
        const others = l.others ?? ['other', 'more-*'];
        assert.deepEqual(refused(l.change, { allowed: { [l.list]: others } }, l.spec), [
          `${l.at}: ${l.what} ${l.value} is not in BatchProfile team-a's allowed.${l.list} (${others.join(', ')})`,
        ]);
      });
      it('empty: none allowed', () => {
        assert.deepEqual(refused(l.change, { allowed: { [l.list]: [] } }, l.spec), [
          `${l.at}: ${l.what} ${l.value} is not in BatchProfile team-a's allowed.${l.list} (none)`,
        ]);
      });
    });
  }

  it('a machine type outside e2-* and n2-standard-*', () => {
    assert.deepEqual(
      refused(
        { candidateMachines: ['n2-highmem-96'] },
        { allowed: { machineTypes: ['e2-*', 'n2-standard-*'] } },
      ),
      [
        "spec.jobTemplate.candidateMachines[0]: machine type n2-highmem-96 is not in BatchProfile team-a's allowed.machineTypes (e2-*, n2-standard-*)",
      ],
    );
  });

  it('deletionPolicies judge an absent deletionPolicy as Delete', () => {
    assert.match(
      refused({}, { allowed: { deletionPolicies: ['Orphan'] } })[0]!,
      /deletionPolicy Delete is not in/,
    );
    accepted({}, { allowed: { deletionPolicies: ['Delete'] } });
  });

  it('a long list is shown bounded', () => {
    const many = Array.from({ length: 30 }, (_, i) => `m${i}`);
    const [error] = refused({}, { allowed: { machineTypes: many } });
    assert.match(error!, /\(m0, m1, .*, m9, … 30 in all\)$/);
  });

  it('an instance template is judged by instanceTemplates only: the machine types and what it decides itself are not', () => {
    accepted(
      { candidateMachines: ['template:gpu-box'], reservationID: 'res-9', ...T4 },
      { allowed: { instanceTemplates: ['gpu-box'], machineTypes: [], accelerators: [], reservations: [] } },
    );
  });

  it('a machine type is judged by machineTypes only', () => {
    accepted({}, { allowed: { instanceTemplates: [], machineTypes: ['n2-standard-2'] } });
  });

  describe('buckets', () => {
    const readOnly = { name: 'in-*', access: 'ReadOnly' as const };
    const readWrite = { name: 'outb', access: 'ReadWrite' as const };

    it('absent: any bucket, and every stage-out bucket may be created, as without a profile', () => {
      const s = accepted({ stageInFiles: { '/in': 'gs://xxx' }, stageOutFiles: { '/out': 'gs://yyy' } }, {});
      assert.deepEqual(s.buckets, ['yyy']);
      assert.equal(s.mustExist, undefined);
    });

    it('stage-in needs any rule, by name or pattern', () => {
      accepted({ stageInFiles: { '/in': 'gs://in-refs/dir' } }, { allowed: { buckets: [readOnly] } });
      accepted({ stageInFiles: { '/in': 'gs://outb' } }, { allowed: { buckets: [readWrite] } });
      assert.deepEqual(
        refused({ stageInFiles: { '/in': 'gs://other' } }, { allowed: { buckets: [readOnly, readWrite] } }),
        [
          `spec.jobTemplate.stageInFiles["/in"]: bucket other is not in BatchProfile team-a's allowed.buckets (in-*, outb)`,
        ],
      );
    });

    it('empty: no bucket at all', () => {
      assert.deepEqual(refused({ stageInFiles: { '/in': 'gs://in-a' } }, { allowed: { buckets: [] } }), [
        `spec.jobTemplate.stageInFiles["/in"]: bucket in-a is not in BatchProfile team-a's allowed.buckets (none)`,
      ]);
    });

    it('stage-out and a gs:// outputPath need ReadWrite', () => {
      const profile = { allowed: { buckets: [readOnly, readWrite] } };
      accepted({ stageOutFiles: { '/out': 'gs://outb/results' }, outputPath: 'gs://outb/log.txt' }, profile);
      assert.deepEqual(refused({ stageOutFiles: { '/out': 'gs://in-x' } }, profile), [
        `spec.jobTemplate.stageOutFiles["/out"]: bucket in-x is ReadOnly in BatchProfile team-a's allowed.buckets: stage-out and a gs:// outputPath need ReadWrite`,
      ]);
      assert.deepEqual(refused({ outputPath: 'gs://in-x/log.txt' }, profile), [
        `spec.jobTemplate.outputPath: bucket in-x is ReadOnly in BatchProfile team-a's allowed.buckets: stage-out and a gs:// outputPath need ReadWrite`,
      ]);
    });

    it('a bucket staged in and out at one path is mounted once and still judged as written', () => {
      const change = { stageInFiles: { '/d': 'gs://in-x' }, stageOutFiles: { '/d': 'gs://in-x' } };
      assert.deepEqual(refused(change, { allowed: { buckets: [readOnly] } }), [
        `spec.jobTemplate.stageOutFiles["/d"]: bucket in-x is ReadOnly in BatchProfile team-a's allowed.buckets: stage-out and a gs:// outputPath need ReadWrite`,
      ]);
    });

    it('only a rule with create: true lets a stage-out bucket be created; the others must exist', () => {
      const s = accepted(
        { stageOutFiles: { '/a': 'gs://made', '/b': 'gs://kept' }, outputPath: 'gs://kept/log.txt' },
        {
          allowed: {
            buckets: [
              { name: 'made', access: 'ReadWrite', create: true },
              { name: 'kept', access: 'ReadWrite' },
            ],
          },
        },
      );
      assert.deepEqual(s.buckets, ['made']);
      assert.deepEqual(s.mustExist, ['kept']);
    });

    it('any matching ReadWrite rule grants: a narrower ReadOnly rule does not take it away', () => {
      accepted(
        { stageOutFiles: { '/o': 'gs://team-a-out' } },
        {
          allowed: {
            buckets: [
              { name: 'team-a-out', access: 'ReadOnly' },
              { name: 'team-a-*', access: 'ReadWrite' },
            ],
          },
        },
      );
    });
  });

  describe('secretPrefixes', () => {
    const env = (map: Record<string, string>) => ({
      extension: { extensionList: { secret_env: secretEnv(map) } },
    });
    const at = 'spec.jobTemplate.extension.extensionList.secret_env';

    it('absent: any secret', () => {
      accepted(env({ DB: 'projects/other/secrets/db/versions/1' }), {});
    });

    it('every path begins with one of them (patterns too)', () => {
      accepted(env({ DB: 'projects/team-a/secrets/db/versions/latest' }), {
        allowed: { secretPrefixes: ['projects/team-a/secrets/'] },
      });
      accepted(env({ DB: 'projects/team-a/secrets/db-main/versions/2' }), {
        allowed: { secretPrefixes: ['projects/*/secrets/db-'] },
      });
      assert.deepEqual(
        refused(
          env({ A: 'projects/team-a/secrets/a/versions/1', B: 'projects/team-ab/secrets/b/versions/1' }),
          {
            allowed: { secretPrefixes: ['projects/team-a/secrets/'] },
          },
        ),
        [
          `${at}: B: projects/team-ab/secrets/b/versions/1 begins with none of BatchProfile team-a's allowed.secretPrefixes (projects/team-a/secrets/)`,
        ],
      );
    });

    it('empty: no secret at all', () => {
      assert.match(
        refused(env({ A: 'projects/team-a/secrets/a/versions/1' }), { allowed: { secretPrefixes: [] } })[0]!,
        /begins with none of BatchProfile team-a's allowed.secretPrefixes \(none\)$/,
      );
    });

    it('a path that could leave its prefix once in a URL is refused', () => {
      const profile = { allowed: { secretPrefixes: ['projects/team-a/secrets/'] } };
      for (const path of [
        'projects/team-a/secrets/../../other/secrets/s/versions/1',
        'projects/team-a/secrets/s%2F..%2F/versions/1',
        'projects/team-a/secrets/s',
      ])
        assert.deepEqual(refused(env({ X: path }), profile), [
          `${at}: X: BatchProfile team-a's allowed.secretPrefixes need the full name projects/<project>/secrets/<secret>/versions/<version>, got ${JSON.stringify(path)}`,
        ]);
    });
  });

  it('an invalid spec is InvalidSpec even when it also breaks the profile', () => {
    const result = judge(
      { jobTemplate: { ...busybox, ...script, extension: { extensionList: { accelerators: 'x y' } } } },
      { allowed: { machineTypes: [] } },
    );
    assert.ok(!result.ok);
    assert.equal(result.reason, 'InvalidSpec');
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['spec.jobTemplate.extension.extensionList.accelerators'],
    );
  });
});
