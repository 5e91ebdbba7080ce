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
 *
 * Fixed and removed later: `codegen-never-ends` (LLVM's code generation looped forever and
 * nothing named the input: optimizing and generating code now have a time limit, and the
 * watcher's message names the inputs; link/codegen-never-ends-* must end as an attributed stop)
 * and `output-libbpf-cannot-open` (a function with `prefix` data linked into an object libbpf
 * refuses: such inputs are now refused by name; link/prefix-data-* must give a clean error).
 */
export const KNOWN_OPEN = [];
