// The `drmaa2-batch` command and its subcommands, each defined in its own file. Run as the kubectl plugin
// (`kubectl drmaa2 ...`, the executable bin/kubectl-drmaa2), it offers what a cluster's users need: the logs
// and the translation of their manifests, not the controller or the emulator.
import { Command } from 'commander';
import { registerTranslate } from './translate.js';
import { registerEmulator } from './emulator.js';
import { registerController } from './controller.js';
import { registerLogs } from './logs.js';

/** The name the kubectl plugin runs under (bin/kubectl-drmaa2 sets DRMAA2_CLI_NAME to it). */
export const PLUGIN_NAME = 'kubectl drmaa2';

export function buildProgram(name = process.env.DRMAA2_CLI_NAME): Command {
  if (name === PLUGIN_NAME) {
    const plugin = new Command(PLUGIN_NAME)
      .description(
        'Drmaa2Jobs from kubectl: the output of their Google Batch tasks, and what a manifest becomes',
      )
      .showHelpAfterError();
    registerLogs(plugin);
    registerTranslate(plugin);
    return plugin;
  }
  const program = new Command('drmaa2-batch')
    .description('Run DRMAA2 job templates as Google Batch jobs, from Kubernetes or the command line')
    .showHelpAfterError();
  registerController(program);
  registerTranslate(program);
  registerEmulator(program);
  registerLogs(program);
  return program;
}
