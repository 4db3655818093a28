/**
 * What every command gets from the global flags (spec §15.1): where to write, whether to be
 * quiet, whether to show progress, and a place to leave the exit status it decided on.
 */
import { Output } from './output.js';
import { progressBar, type ProgressSink, wantsProgress } from './progress.js';

export interface GlobalFlags {
  quiet?: boolean;
  debug?: boolean;
  /** How long a command that writes waits for another writer's lock (spec §13.2). */
  lockTimeout?: number;
}

export class CliContext {
  readonly out: Output;
  /** The status the command decided on (verdicts); errors are mapped by the caller of run(). */
  exitCode = 0;

  constructor(
    readonly flags: GlobalFlags,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.out = new Output(flags.quiet === true);
  }

  get lockTimeoutMs(): number | undefined {
    return this.flags.lockTimeout;
  }

  get quiet(): boolean {
    return this.flags.quiet === true;
  }

  /** One line on stderr in the error format: `sealed-ledger: <code>: <message>`. */
  complain(line: string): void {
    this.stderr.write(`sealed-ledger: ${line.replace(/\s*\n\s*/g, ' ')}\n`);
  }

  /** A note for a person (stderr, so it never mixes with data on stdout); dropped under --quiet. */
  note(text: string): void {
    if (!this.quiet) this.stderr.write(`sealed-ledger: ${text}\n`);
  }

  progress(label: string, json: boolean | undefined): ProgressSink {
    return progressBar(label, wantsProgress({ isTTY: this.stderr.isTTY, json: json === true, quiet: this.quiet }));
  }
}
