// Composition root: parses the command line and runs the chosen command.
import { buildProgram } from './cli/program.js';

await buildProgram().parseAsync(process.argv);
