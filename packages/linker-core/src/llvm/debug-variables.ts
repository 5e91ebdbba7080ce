/**
 * Where the debug info says a variable lives: `#dbg_value(ptr %task, !var, !DIExpression())` and
 * `#dbg_declare`. LLVM >= 21 lists debug records through the C API; older versions can only show
 * them as llvm.dbg.* intrinsic calls, so the module is converted for the time of a visit and back.
 */
import { decodeCString } from './api';
import { MetadataKind, type DebugInfo } from './debug-info';
import type { LlvmLibrary } from './library';
import { basicBlocks, instructions, valueName } from './module';
import type { MetadataRef, ModuleRef, ValueRef } from './types';

export interface VariableLocation {
  /** The value the record describes (an SSA value for dbg_value, the variable's address for dbg_declare). */
  value: ValueRef;
  variable: MetadataRef;
  /** dbg_declare: `value` is the variable's address. */
  declare: boolean;
  /** The expression is empty: the variable is `value` itself, not a piece of it or an offset from it. */
  plain: boolean;
}

/** llvm-c/Core.h LLVMDbgRecordKind */
const RecordKind = { Declare: 1, Value: 2, Assign: 3 } as const;

/** Reads the variable records of functions; `close()` restores the module's debug-info format. */
export interface DebugVariables {
  of(f: ValueRef): VariableLocation[];
  close(): void;
}

export function debugVariables(lib: LlvmLibrary, di: DebugInfo, m: ModuleRef): DebugVariables {
  const { api } = lib;
  const plainCache = new Map<bigint, boolean>();
  const isPlain = (expr: MetadataRef | null): boolean => {
    if (expr === null) return true;
    const key = expr as bigint;
    let plain = plainCache.get(key);
    if (plain === undefined) {
      const text = api.LLVMPrintValueToString(di.asValue(expr));
      try {
        plain = decodeCString(text).trim() === '!DIExpression()';
      } finally {
        api.LLVMDisposeMessage(text);
      }
      plainCache.set(key, plain);
    }
    return plain;
  };

  if (api.LLVMGetFirstDbgRecord && api.LLVMGetNextDbgRecord && api.LLVMDbgRecordGetKind && api.LLVMDbgVariableRecordGetVariable && api.LLVMDbgVariableRecordGetValue && api.LLVMDbgVariableRecordGetExpression) {
    const first = api.LLVMGetFirstDbgRecord;
    const next = api.LLVMGetNextDbgRecord;
    const kindOf = api.LLVMDbgRecordGetKind;
    const variableOf = api.LLVMDbgVariableRecordGetVariable;
    const valueOf = api.LLVMDbgVariableRecordGetValue;
    const expressionOf = api.LLVMDbgVariableRecordGetExpression;
    return {
      of(f) {
        const out: VariableLocation[] = [];
        for (const b of basicBlocks(lib, f)) {
          for (const inst of instructions(lib, b)) {
            for (let r = first(inst); r !== null; r = next(r)) {
              const kind = kindOf(r);
              if (kind !== RecordKind.Value && kind !== RecordKind.Declare) continue;
              const value = valueOf(r, 0);
              const variable = variableOf(r);
              if (value === null || variable === null) continue;
              out.push({ value, variable, declare: kind === RecordKind.Declare, plain: isPlain(expressionOf(r)) });
            }
          }
        }
        return out;
      },
      close() {},
    };
  }

  // LLVM 19 and 20: as intrinsic calls. Operand 0 wraps the value in metadata; LLVMGetMDNodeOperands unwraps it.
  let converted = false;
  if (api.LLVMIsNewDbgInfoFormat && api.LLVMSetIsNewDbgInfoFormat && api.LLVMIsNewDbgInfoFormat(m)) {
    api.LLVMSetIsNewDbgInfoFormat(m, 0);
    converted = true;
  }
  const one = new BigUint64Array(1);
  return {
    of(f) {
      const out: VariableLocation[] = [];
      for (const b of basicBlocks(lib, f)) {
        for (const inst of instructions(lib, b)) {
          if (api.LLVMIsACallInst(inst) === null) continue;
          const callee = api.LLVMGetCalledValue(inst);
          if (callee === null || api.LLVMIsAFunction(callee) === null) continue;
          const name = valueName(lib, callee);
          const declare = name === 'llvm.dbg.declare';
          if (!declare && name !== 'llvm.dbg.value') continue;
          const wrapped = api.LLVMGetOperand(inst, 0);
          const variable = api.LLVMGetOperand(inst, 1);
          const expression = api.LLVMGetOperand(inst, 2);
          // Only a single value (LocalAsMetadata): a DIArgList is not an MDNode and must not be read as one.
          if (wrapped === null || variable === null || api.LLVMGetMetadataKind(di.asMetadata(wrapped)) !== MetadataKind.LocalAsMetadata) continue;
          api.LLVMGetMDNodeOperands(wrapped, one);
          if (one[0] === 0n) continue;
          out.push({
            value: one[0] as ValueRef,
            variable: di.asMetadata(variable),
            declare,
            plain: isPlain(expression ? di.asMetadata(expression) : null),
          });
        }
      }
      return out;
    },
    close() {
      if (converted) api.LLVMSetIsNewDbgInfoFormat!(m, 1);
    },
  };
}
