// The `drmaa2-batch` command and its subcommands, each defined in its own file.
import { Command } from 'commander';
import { registerTranslate } from './translate.js';
import { registerEmulator } from './emulator.js';
import { registerController } from './controller.js';

export function buildProgram(): Command {
  const program = new Command('drmaa2-batch')
    .description('Run DRMAA2 job templates as Google Batch jobs, from Kubernetes or the command line')
    .showHelpAfterError();
  registerController(program);
  registerTranslate(program);
  registerEmulator(program);
  return program;
}
