/** The `turbo gen` registration init writes: turbo loads it, and it calls the adapter's generators. */
export const GENERATORS_CONFIG = 'turbo/generators/config.ts';

export function generatorsConfigText(): string {
  return `// Written by \`bpf-turbo init\`: the BPF generators of @bpf-linker/turbo.
//   npx turbo gen bpf-program --args <name> <c|rust> <type> <attach|-> <libraries|-> <directory|->
//   npx turbo gen bpf-library --args <name> <directory|->
// Add generators of your own next to them.
import { registerBpfGenerators } from '@bpf-linker/turbo/generators';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default function generators(plop: any): void {
  registerBpfGenerators(plop);
}
`;
}
