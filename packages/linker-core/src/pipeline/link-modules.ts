/**
 * Stage: parse every unit and merge it into one module with LLVMLinkModules2. Two strong
 * definitions of one symbol become an error naming the symbol and both inputs.
 */
import { LinkError, describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { LlvmCallError, functions, globalVariables, isDeclaration, parseBitcode, parseIrText, valueName } from '../llvm/module';
import { Linkage, type ModuleRef, type ValueRef } from '../llvm/types';
import type { ProducerRequirement } from './choose-llvm';

const MULTIPLY_DEFINED = /Linking globals named '([^']*)': symbol multiply defined!/;

function strongDefinitions(ctx: LlvmContext, m: ModuleRef): string[] {
  const { lib } = ctx;
  const names: string[] = [];
  const consider = (v: ValueRef) => {
    if (isDeclaration(lib, v) || lib.api.LLVMGetLinkage(v) !== Linkage.External) return;
    const name = valueName(lib, v);
    if (name && !name.startsWith('llvm.')) names.push(name);
  };
  for (const f of functions(lib, m)) consider(f);
  for (const g of globalVariables(lib, m)) consider(g);
  return names;
}

export function linkModules(ctx: LlvmContext, units: InputUnit[], logger: Logger, requirement?: ProducerRequirement): ModuleRef {
  const { api } = ctx.lib;
  const dest = api.LLVMModuleCreateWithNameInContext('linked_module', ctx.ref);
  const definedBy = new Map<string, string>();
  try {
    for (const unit of units) {
      const where = describeOrigin(unit.origin.file, unit.origin.member);
      let src: ModuleRef;
      try {
        src = unit.kind === 'bitcode' ? parseBitcode(ctx, unit.bytes, where) : parseIrText(ctx, unit.bytes, where);
      } catch (e) {
        if (!(e instanceof LlvmCallError)) throw e;
        throw new LinkError('PARSE_FAILED', `${where}: LLVM ${ctx.lib.version.major}.${ctx.lib.version.minor}.${ctx.lib.version.patch} cannot read this ${unit.kind === 'bitcode' ? 'bitcode' : 'IR'}: ${e.message}`, {
          file: unit.origin.file,
          member: unit.origin.member,
          hint:
            unit.producer && requirement === undefined
              ? 'the file may be corrupt, or produced by an LLVM newer than the one loaded: pass --llvm-path to a newer libLLVM'
              : 'the file is corrupt or was not produced by clang/rustc for BPF; rebuild it',
          cause: e,
        });
      }
      const defs = strongDefinitions(ctx, src);
      const mark = ctx.diagnostics.length;
      logger.debug(`linking ${where}`);
      const failed = api.LLVMLinkModules2(dest, src) !== 0; // consumes src
      if (failed) {
        const messages = ctx.since(mark).filter((d) => d.level === 'error').map((d) => d.message);
        const dup = messages.map((m) => MULTIPLY_DEFINED.exec(m)).find((m) => m !== null);
        if (dup) {
          const symbol = dup[1];
          const first = definedBy.get(symbol) ?? 'an earlier input';
          throw new LinkError('DUPLICATE_SYMBOL', `symbol '${symbol}' is defined in both ${first} and ${where}`, {
            file: unit.origin.file,
            member: unit.origin.member,
            hint: `keep one definition: make the other 'static' (C) or remove the input that repeats it`,
          });
        }
        throw new LinkError('LINK_FAILED', `failure linking module ${where}: ${messages.join('; ') || 'unknown error'}`, {
          file: unit.origin.file,
          member: unit.origin.member,
        });
      }
      for (const d of defs) if (!definedBy.has(d)) definedBy.set(d, where);
    }
    return dest;
  } catch (e) {
    api.LLVMDisposeModule(dest);
    throw e;
  }
}
