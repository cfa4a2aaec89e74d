import type { Command } from 'commander';

export function registerController(program: Command): void {
  program
    .command('controller')
    .description('controller (being built)')
    .action(() => {
      throw new Error('the controller command is not available in this build');
    });
}
