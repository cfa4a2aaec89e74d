import type { Command } from 'commander';

export function registerTranslate(program: Command): void {
  program
    .command('translate')
    .description('translate (being built)')
    .action(() => {
      throw new Error('the translate command is not available in this build');
    });
}
