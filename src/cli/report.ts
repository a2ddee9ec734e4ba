// `charlm report <run-dir> [--out file.html]`: writes a self-contained HTML report of a training run (curves,
// key numbers, config, samples) and prints the path written.
import type { Command } from 'commander';
import { writeReport } from '../report/index.js';

export function register(program: Command): void {
  program.command('report')
    .description('write an HTML report of a training run: loss curves, throughput, config and samples')
    .argument('<run-dir>', 'the --out folder of a `charlm train` run')
    .option('--out <file>', 'where to write the report (default: <run-dir>/report.html)')
    .action((runDir: string, o: { out?: string }) => {
      console.log(writeReport(runDir, o.out));
    });
}
