// Imports the XDP program as bytes (and its manifest), and loads it into the kernel's verifier
// with the core's libbpf-based loader. Nothing stays loaded.
import { formatVerifyResult, verifyObject } from '@bpf-linker/core';
import manifest from './xdp.bpf.c?manifest';
import xdp from './xdp.bpf.c';

console.log(`${manifest.name}.o: ${manifest.size} bytes, BTF ${manifest.btf ? 'present' : 'missing'}`);
for (const p of manifest.programs) console.log(`  program ${p.name} (${p.section}), ${p.instructions} instructions`);
for (const m of manifest.maps) console.log(`  map ${m.name}: ${m.type}, ${m.maxEntries} entries`);

try {
  const result = verifyObject(xdp, { objectName: manifest.name });
  console.log(formatVerifyResult(result));
  process.exitCode = result.accepted ? 0 : 1;
} catch (e) {
  // Without root (CAP_BPF) the kernel refuses: the error says so.
  console.error(`cannot load ${manifest.name}.o: ${(e as Error).message}`);
  process.exitCode = 1;
}
