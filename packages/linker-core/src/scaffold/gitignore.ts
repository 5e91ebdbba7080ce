// The .gitignore lines every adapter's init writes for BPF build outputs. The leading `**` is
// needed because a pattern with a slash inside is anchored to the .gitignore's directory, and the
// outputs live in each project (apps/x/dist/bpf); `target/` (a trailing slash only) already
// matches at any depth.
export const BPF_GITIGNORE: readonly string[] = ['**/dist/bpf/', 'target/'];
