/**
 * Bad outcomes the fuzz harness found outside the object readers and `inspect`/`verify`, reported
 * to their owners but not fixed yet. A case matching an entry (same target and class, `why` and
 * `stderr` matching) is counted as `<class> (known open)`, printed with its reproducer, and does
 * not fail the tests, unless FUZZ_STRICT=1. Remove an entry when its fix lands: the regression
 * files named in it then must pass like any other.
 *
 * Each entry: id, target, cls (the class), why / stderr / desc (RegExps on the classifier's
 * reason, the CLI's stderr and the case's description), owner (where the fix belongs),
 * regressions (files in regressions/), slow (its regressions take the full 20 s case limit:
 * they are replayed by the medium and long modes, not by the quick slice).
 *
 * Fixed and removed (commit 27c09b6): an LLVM fatal error while reading was silent (exit 1, empty
 * stderr); fatal errors, codegen diagnostics and IR-linker failures did not name the inputs. Their
 * regression files (link/fatal-*, link/codegen-diagnostic-*, link/appending-section-*) now must
 * give clean errors.
 */
export const KNOWN_OPEN = [
  {
    id: 'codegen-never-ends',
    target: 'link',
    cls: 'hang',
    desc: /codegen-never-ends/,
    owner: 'packages/linker-core/src/pipeline (codegen) and crash-guard.ts (no time limit outside the read step)',
    note:
      "Two mutated LLVM 19 members of a BSD archive link and optimize, then LLVM 19's BPF codegen never returns " +
      '(llc-19 on the same linked, optimized module hangs too). The linker runs until killed; nothing names the input.',
    regressions: ['link/codegen-never-ends-libs-19-bsd.a'],
    slow: true,
  },
  {
    id: 'output-libbpf-cannot-open',
    target: 'link',
    cls: 'bad-output',
    why: /instruction bytes are \d+ long, not a multiple of 8/,
    owner: 'packages/linker-core/src/pipeline (checking the emitted object)',
    note:
      'A bit flip gives a function `prefix` data (`define i32 @twice(...) prefix i1 true`); LLVM emits the byte in ' +
      "front of the function, so .text is 25 bytes. The link succeeds (exit 0) but the object is unusable: inspect " +
      "refuses it, libbpf says `sec '.text': corrupted program 'twice', offset 1, size 24`.",
    regressions: ['link/prefix-data-in-text-dup_a-19.bc'],
  },
];
