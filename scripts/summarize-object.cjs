// Prints a short summary of a BPF object with the core's object reader.
const { readFileSync } = require('node:fs');
const { readBpfObject } = require('../packages/linker-core/dist/index.cjs');

const path = process.argv[2];
const o = readBpfObject(readFileSync(path));
console.log(`\n${path}: ${readFileSync(path).length} bytes, ${o.littleEndian ? 'little' : 'big'}-endian BPF ELF`);
console.log(`  sections: ${o.sectionNames.filter(Boolean).join(' ')}`);
for (const p of o.programs) {
  const extra = [p.calls.length ? `calls ${p.calls.join(', ')}` : '', p.backEdges.length ? `${p.backEdges.length} back-edge(s)` : '']
    .filter(Boolean)
    .join('; ');
  console.log(`  ${p.isSubprogram ? 'function' : 'program '} ${p.name} [${p.section}] ${p.instructionCount} insns, ${p.binding}, BTF ${p.btfLinkage ?? '-'}${extra ? `; ${extra}` : ''}`);
}
for (const m of o.maps) console.log(`  map      ${m.name} [${m.section}] ${m.typeName ?? m.type ?? '?'} key ${m.keySize ?? '?'} B, value ${m.valueSize ?? '?'} B, max ${m.maxEntries ?? '?'}`);
if (o.license) console.log(`  license  ${o.license}`);
if (o.btfSummary) {
  const kinds = Object.entries(o.btfSummary.kinds).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`  BTF      ${o.btfSummary.typeCount} types (${kinds}); .BTF.ext: ${o.btfSummary.funcInfoCount} func info, ${o.btfSummary.lineInfoCount} line info`);
}
