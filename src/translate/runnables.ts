// The task's runnables, in the original library's layout so that jobs written for it see the same order:
// barriers around the prolog and before the epilog of a multi-node job, whose tasks meet there (a single task
// has no peer to wait for, though the original gave barriers to every job with minSlots == maxSlots), the
// prolog always, the main runnable by job category, the epilog always run. Containers get host namespaces,
// --privileged, the host's ssh keys and the hosts file only when the tasks span several nodes (MPI over ssh),
// where the original gave them to every container (see docs/decisions.md, Safe containers by default).
import type { Runnable } from '../api/batch.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH, type JobTemplate } from '../api/drmaa2.js';
import type { Extensions } from './extensions.js';
import type { SpecError } from './specError.js';

const SHEBANG_ONLY = '#!/bin/sh\n';
const HOST_MOUNTS = [
  '/etc/cloudbatch-taskgroup-hosts:/etc/cloudbatch-taskgroup-hosts',
  '/etc/ssh:/etc/ssh',
  '/root/.ssh:/root/.ssh',
];
const HOST_OPTIONS = '--network=host --ipc=host --pid=host --privileged --uts=host';

export function runnables(
  template: JobTemplate,
  ext: Extensions,
  containerVolumes: string[],
  multiNode: boolean,
  errors: SpecError[],
  path: string,
): Runnable[] {
  const category = template.jobCategory!;
  const command = template.remoteCommand ?? '';
  let main: Runnable;
  if (category === CATEGORY_SCRIPT_PATH) main = { script: { path: command } };
  else if (category === CATEGORY_SCRIPT) main = { script: { text: command } };
  else {
    const options: string[] = [];
    if (multiNode) options.push(HOST_OPTIONS);
    const gpus = ext.accelerator && ext.accelerator.type.startsWith('nvidia') ? ext.accelerator.count : 0;
    if (gpus > 0) {
      options.push(
        '--gpus all --device /dev/nvidiactl --device /dev/nvidia-uvm --device /dev/nvidia-uvm-tools',
      );
      for (let i = 0; i < gpus; i++) options.push(`--device /dev/nvidia${i}`);
    }
    const volumes = [...(multiNode ? HOST_MOUNTS : []), ...containerVolumes];
    main = {
      container: {
        imageUri: category,
        ...(command ? { entrypoint: command } : {}),
        commands: [...(template.args ?? [])],
        ...(volumes.length ? { volumes } : {}),
        ...(ext.dockerOptions !== undefined
          ? { options: ext.dockerOptions }
          : options.length
            ? { options: options.join(' ') }
            : {}),
      },
    };
  }
  if (ext.dockerOptions !== undefined && !main.container) {
    errors.push({
      path: `${path}.extension.extensionList.docker_options`,
      message: 'docker options need a container image as jobCategory',
    });
  }
  const prolog: Runnable = { script: { text: ext.prolog ?? SHEBANG_ONLY } };
  const list: Runnable[] = multiNode
    ? [
        { barrier: { name: 'before_job_barrier' } },
        prolog,
        { barrier: { name: 'after_prolog_barrier' } },
        main,
      ]
    : [prolog, main];
  if (ext.epilog) {
    if (multiNode) list.push({ barrier: { name: 'after_job_barrier' }, ignoreExitStatus: true });
    list.push({ script: { text: ext.epilog }, alwaysRun: true });
  }
  return list;
}
