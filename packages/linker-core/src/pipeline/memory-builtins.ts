/**
 * Calls to memory builtins. The BPF backend reports every libcall as an error but still emits
 * the call (LLVM D155894); bpf-linker ignores those errors because Rust's compiler_builtins
 * defines the functions. A C object has no definitions, so there the call is a real error: the
 * object would not load. And `--bpf-expand-memcpy-in-order` makes LLVM leave memset/memmove as
 * libcalls (only memcpy has an in-order expander), so it is used only when the module defines
 * them.
 */
import type { LlvmLibrary } from '../llvm/library';
import { functions, isDeclaration, valueName } from '../llvm/module';
import type { ModuleRef } from '../llvm/types';
import type { LlvmDiagnostic } from '../llvm/context';

const LIBCALLS = ['memcpy', 'memmove', 'memset', 'memcmp', 'bcmp', 'strlen'];
const LIBCALL_ERROR = /A call to built-in function '(\w+)' is not supported\.\n?$/;

/** Which of the libcalls LLVM may emit the module itself defines. */
export function definedLibcalls(lib: LlvmLibrary, m: ModuleRef): Set<string> {
  const defined = new Set<string>();
  for (const f of functions(lib, m)) {
    if (isDeclaration(lib, f)) continue;
    const name = valueName(lib, f);
    if (LIBCALLS.includes(name)) defined.add(name);
  }
  return defined;
}

/** In-order memcpy expansion is safe only when memset and memmove calls resolve in the module. */
export function canExpandMemcpyInOrder(defined: Set<string>): boolean {
  return defined.has('memset') && defined.has('memmove');
}

/** The libcall a "not supported" diagnostic is about, if it is one. */
export function unsupportedLibcall(d: LlvmDiagnostic): string | undefined {
  if (d.level !== 'error') return undefined;
  const m = LIBCALL_ERROR.exec(d.message);
  return m && LIBCALLS.includes(m[1]) ? m[1] : undefined;
}
