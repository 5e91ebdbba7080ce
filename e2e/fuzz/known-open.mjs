/**
 * Bad outcomes the fuzz harness found outside the object readers and `inspect`/`verify`, reported
 * to their owners but not fixed yet. A case matching an entry (same target and class, `why` and
 * `stderr` matching) is counted as `<class> (known open)`, printed with its reproducer, and does
 * not fail the tests, unless FUZZ_STRICT=1. Remove an entry when its fix lands: the regression
 * files named in it then must pass like any other.
 *
 * Each entry: id, target, cls (the class), why / stderr (RegExps on the classifier's reason and
 * on the CLI's stderr), owner (where the fix belongs), regressions (files in regressions/).
 */
export const KNOWN_OPEN = [
  {
    id: 'llvm-fatal-error-while-reading-is-silent',
    target: 'link',
    cls: 'unnamed-error',
    why: /^exit 1 and no error message$/,
    stderr: /^$/,
    owner: 'packages/linker-core/src/llvm/library.ts (onFatalError) with llvm/stderr.ts and pipeline/link-modules.ts',
    note:
      "LLVM's verifier aborts the bitcode reader ('Broken module found, compilation aborted!'). The fatal-error " +
      "handler writes `Error: LLVM fatal error: …` to fd 2, which during the read step is the capture file of " +
      "captureNativeStderr, marks the crash guard done and _exits 1: the user sees exit 1 and an empty stderr. " +
      'The message also does not name the input. With BPF_LINKER_CRASH_GUARD=0 the capture file ' +
      '/tmp/bpf-linker-<pid>.stderr is left behind.',
    regressions: ['link/fatal-broken-module-dup_a-19.bc', 'link/fatal-broken-module-program-22.bc', 'link/fatal-broken-module-slot_lib-19.bc'],
  },
  {
    id: 'codegen-diagnostic-names-no-input',
    target: 'link',
    cls: 'unnamed-error',
    why: /^Error: LLVM issued diagnostic with error severity:/,
    owner: 'packages/linker-core/src/pipeline (the LLVM_DIAGNOSTIC_ERRORS error)',
    note:
      'A corrupt but readable input makes codegen fail (`too many arguments` for a call to a mangled intrinsic); ' +
      "the error names neither the input(s) nor the output, only the C source line from debug info.",
    regressions: ['link/codegen-diagnostic-loop-22.bc'],
  },
  {
    id: 'llvm-link-error-names-one-module',
    target: 'link',
    cls: 'unnamed-error',
    why: /^Error: failure linking module /,
    owner: 'packages/linker-core/src/pipeline/link-modules.ts (LINK_FAILED)',
    note:
      "LLVM's IR linker refuses to merge two modules (`Appending variables with different section name need to be " +
      "linked!`); the message names only the module being linked in (the good second input), not the module it " +
      'conflicts with (the corrupt first input).',
    regressions: ['link/appending-section-program-22.bc'],
  },
];
