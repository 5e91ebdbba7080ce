/** `bpf-linker inspect <OBJECT>`: what a BPF object contains. */
import { formatBtfDump, formatInspection, inspectObject, readObjectBtf, readingObject } from '@bpf-linker/core';
import { parseCommandArgs, printError, readBpfObjectFile, usage, type CommandFlag } from './common';

export const INSPECT_HELP = `Shows what a BPF object contains: its programs (section, instruction count, BPF-to-BPF calls,
helper calls, back-edges), subprograms, maps (type, key and value sizes and types from BTF,
max_entries), global variables and BTF data sections, the license, a BTF summary and the size of
every ELF section. Reads the file only; nothing is loaded into the kernel.

Usage: bpf-linker inspect [OPTIONS] <OBJECT>

Options:
  --json      Print the same information as JSON
  --btf       Also dump every BTF type (btfdump's format; in JSON the "btfDump" string)
  -h, --help  Print this help
`;

const FLAGS: readonly CommandFlag[] = [{ long: 'json' }, { long: 'btf' }, { long: 'help', short: 'h' }];

export function runInspect(argv: readonly string[]): number {
  try {
    const { positionals, flags } = parseCommandArgs('inspect', argv, FLAGS);
    if (flags.has('help')) {
      process.stdout.write(INSPECT_HELP);
      return 0;
    }
    if (positionals.length !== 1) {
      throw usage('inspect', positionals.length === 0 ? 'no object to inspect' : 'inspect takes one object', 'usage: bpf-linker inspect [OPTIONS] <OBJECT>');
    }
    const path = positionals[0];
    // Every error of reading the object names the file and says what is wrong: a corrupt
    // object never ends in `internal error` and a stack trace.
    const output = readingObject(path, () => {
      const bytes = readBpfObjectFile(path);
      const inspection = inspectObject(bytes);
      let btfDump: string | undefined;
      if (flags.has('btf')) {
        const { btf, btfExt } = readObjectBtf(bytes);
        btfDump = btf ? formatBtfDump(btf, btfExt) : '';
      }
      if (flags.has('json')) return `${JSON.stringify(btfDump !== undefined ? { ...inspection, btfDump } : inspection, null, 2)}\n`;
      const text = formatInspection(inspection, { label: path });
      return btfDump !== undefined ? `${text}\nBTF types:\n${btfDump || '  none\n'}` : text;
    });
    process.stdout.write(output);
    return 0;
  } catch (e) {
    printError(e);
    return 1;
  }
}
