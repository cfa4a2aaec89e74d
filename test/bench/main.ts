// `npm run bench -- --jobs 1000`: one benchmark run, printed as a table and written as JSON.
import { Command } from 'commander';
import { reportLines, writeReport } from './report.js';
import { runBench } from './run.js';

const int = (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a whole number: ${text}`);
  return n;
};

const program = new Command('bench')
  .description('Drive N Drmaa2Jobs through the controller against the real API server and the Batch emulator')
  .option('--jobs <n>', 'how many Drmaa2Jobs', int, 1000)
  .option('--rate <n>', 'jobs created per second (0: all at once)', int, 0)
  .option('--parallel <n>', 'client requests in flight (the floor uses the same)', int, 16)
  .option('--poll-interval <duration>', 'the controller poll interval', '1s')
  .option('--concurrency <n>', 'the controller reconcile concurrency', int, 16)
  .option('--shards <n>', 'controller instances, one namespace each', int, 1)
  .option('--run-seconds <n>', 'how long each job runs in Batch (0: instant)', int, 0)
  .option('--timeout-seconds <n>', 'give up after this long', int, 1800)
  .option(
    '--controller-node-options <text>',
    "NODE_OPTIONS of the controller only, e.g. '--max-old-space-size=200'",
  )
  .option(
    '--no-finalizer-policy',
    'leave deploy/finalizer-policy/ out: the controller adds each finalizer itself',
  )
  .option(
    '--controller-log-level <level>',
    "the controller's --log-level (its log stays in the run's folder)",
    'warn',
  )
  .option('--out <dir>', 'where the JSON report goes', 'bench-results');

program.parse();
const opts = program.opts<{
  jobs: number;
  rate: number;
  parallel: number;
  pollInterval: string;
  concurrency: number;
  shards: number;
  runSeconds: number;
  timeoutSeconds: number;
  controllerNodeOptions?: string;
  controllerLogLevel: string;
  finalizerPolicy: boolean;
  out: string;
}>();
const report = await runBench({
  ...opts,
  shards: Math.max(1, opts.shards),
  log: (line) => console.error(line),
});
for (const line of reportLines(report)) console.log(line);
console.log(`\nJSON: ${writeReport(report, opts.out)}`);
