/**
 * Make-style dependency files, as clang (`-MD -MF`) and cargo (`<target>/<bin>.d`) write them:
 * `target: dep dep \` lines, spaces inside paths escaped as `\ `, `$$` for `$`. Only what the
 * compilers write is handled; a depfile lists what a build read, which is what a cache must check.
 */

/** The prerequisites of every rule in `text`, in order, without duplicates. */
export function parseDepfile(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  // Continuation lines join into one logical line per rule.
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of logical) {
    const colon = ruleColon(line);
    if (colon < 0) continue;
    for (const word of splitWords(line.slice(colon + 1))) {
      if (!seen.has(word)) {
        seen.add(word);
        out.push(word);
      }
    }
  }
  return out;
}

/** Index of the colon that ends the targets: the first `: ` (or `:` at the end), skipping `C:\` drive letters. */
function ruleColon(line: string): number {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') {
      i++;
      continue;
    }
    if (line[i] === ':' && (i + 1 === line.length || line[i + 1] === ' ' || line[i + 1] === '\t')) return i;
  }
  return -1;
}

function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && (s[i + 1] === ' ' || s[i + 1] === '#' || s[i + 1] === '\\')) {
      cur += s[i + 1];
      i++;
    } else if (c === '$' && s[i + 1] === '$') {
      cur += '$';
      i++;
    } else if (c === ' ' || c === '\t') {
      if (cur) words.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) words.push(cur);
  return words;
}
