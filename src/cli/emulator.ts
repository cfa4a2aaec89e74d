import type { Command } from 'commander';

export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .description('emulator (being built)')
    .action(() => {
      throw new Error('the emulator command is not available in this build');
    });
}
