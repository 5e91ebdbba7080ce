/**
 * The `bpf-linker` executable: parses arguments (bpf-linker compatible), calls the core's
 * link(), and formats errors. No linking logic lives here.
 */
import { statSync } from 'node:fs';
import {
  LINKER_VERSION,
  LinkError,
  createLogger,
  findLlvmCandidates,
  formatVersion,
  linkSync,
  loadLlvmLibrary,
  rankCandidates,
  type LogLevel,
  type Logger,
} from '@bpf-linker/core';
import { editDistance, parseArgs } from './args';
import { HELP_TEXT, versionText } from './help';
import { printError } from './commands/common';
import { runInspect } from './commands/inspect';
import { appendLogLine, commandFiles, formatTimings, formatPartitionTimings, readExportSymbols, writeLinkReport } from './commands/link-output';
import { runVerify } from './commands/verify';


function makeLogger(level: LogLevel, logFile: string | undefined): Logger {
  return createLogger(level, (l, message) => {
    const line = `[${l.toUpperCase()}] ${message}\n`;
    if (logFile) {
      // bpf-linker compatible: with --log-file, logs go to stdout and are appended to the file.
      process.stdout.write(line);
      appendLogLine(logFile, line);
    } else {
      process.stderr.write(line);
    }
  });
}

function printLlvm(llvmPath: string | undefined): void {
  const candidates = findLlvmCandidates(undefined, process.env, true);
  const forced = llvmPath ?? process.env.BPF_LINKER_LLVM;
  const ranked = rankCandidates(candidates);
  process.stdout.write('libLLVM candidates (most preferred first):\n');
  if (ranked.length === 0) process.stdout.write('  none found; install llvm-22 (apt-get install llvm-22) or pass --llvm-path\n');
  for (const c of ranked) {
    let version: string;
    try {
      version = formatVersion(loadLlvmLibrary(c.path).version);
    } catch (e) {
      version = `unusable: ${(e as Error).message}`;
    }
    const mark = !forced && c === ranked[0] ? '  <- used for inputs without a newer producer' : '';
    process.stdout.write(`  ${c.path}  LLVM ${version}  (${c.source}${c.rustc ? `, rustc ${c.rustc}` : ''})${mark}\n`);
  }
  if (forced) process.stdout.write(`forced by ${llvmPath ? '--llvm-path' : 'BPF_LINKER_LLVM'}: ${forced}\n`);
  process.stdout.write('For each link the library must be at least as new as the newest bitcode producer among the inputs;\nthe same major.minor is preferred, and rustc\'s own libLLVM for rustc\'s bitcode.\n');
}

/**
 * Subcommands. For compatibility with bpf-linker, which takes only inputs as positionals, the
 * first argument is a command only when it is exactly its name and no regular file of that name
 * exists (a directory named `verify` cannot be a linker input).
 */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const COMMANDS: Record<string, (argv: readonly string[]) => number> = { verify: runVerify, inspect: runInspect };

/** A first argument that is no file but one typo away from a command (`veriffy`): the command meant. */
function mistypedCommand(first: string | undefined): string | undefined {
  if (first === undefined || first.startsWith('-') || /[./]/.test(first) || isFile(first)) return undefined;
  return Object.keys(COMMANDS).find((c) => editDistance(first, c) <= 2);
}

export function main(argv: string[]): number {
  const subcommand = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? argv[0] : undefined;
  if (subcommand !== undefined && !isFile(subcommand)) return COMMANDS[subcommand](argv.slice(1));
  const meant = mistypedCommand(argv[0]);
  if (meant !== undefined) {
    printError(
      new LinkError('INVALID_ARGUMENT', `unknown command '${argv[0]}' (and no file of that name)`, {
        hint: `did you mean '${meant}'? (bpf-linker ${meant} --help); a file of that name would be linked`,
      }),
    );
    return 1;
  }
  // bpf-linker rewrites `-flavor` to `--flavor` (which no longer exists) before parsing.
  try {
    const command = parseArgs(argv);
    switch (command.kind) {
      case 'help':
        process.stdout.write(HELP_TEXT.endsWith('\n') ? HELP_TEXT : `${HELP_TEXT}\n`);
        return 0;
      case 'version':
        process.stdout.write(`${versionText(LINKER_VERSION)}\n`);
        return 0;
      case 'print-llvm':
        printLlvm(command.llvmPath);
        return 0;
      case 'link': {
        const options = command.options;
        const logger = makeLogger(command.log.level ?? 'warn', command.log.file);
        if (!options.llvmPath && process.env.BPF_LINKER_LLVM) options.llvmPath = process.env.BPF_LINKER_LLVM;
        if (command.exportSymbolsFile !== undefined) options.exports.push(...readExportSymbols(command.exportSymbolsFile, options.maxInputSize));
        const result = linkSync(options, { logger, env: process.env, report: command.reportFile !== undefined, files: commandFiles(command) });
        logger.debug(`wrote ${result.output} (${result.bytes.length} bytes, ${result.emit}, ${result.triple}, LLVM ${result.llvm.version}); ${formatTimings(result.timings).trimEnd()}`);
        if (command.reportFile !== undefined) writeLinkReport(command.reportFile, result);
        if (command.timings) {
          process.stderr.write(formatTimings(result.timings));
          if (result.partitioning) process.stderr.write(formatPartitionTimings(result.partitioning));
        }
        return 0;
      }
    }
  } catch (e) {
    printError(e);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
