// A bpf-linker stand-in for rustc: records the call (argv, what each file argument is, the
// members of each archive, the export file) while rustc's temporary files still exist, then
// runs the real bpf-linker (BPFL_CLI) with the same argv and passes its output and status on.
// Records go to BPFL_RECORD_DIR as <time>-<pid>.json.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const argv = process.argv.slice(2);

function archiveMembers(bytes) {
  const names = [];
  let longNames = '';
  for (let o = 8; o + 60 <= bytes.length; ) {
    const name = bytes.subarray(o, o + 16).toString('latin1').trim();
    const size = Number(bytes.subarray(o + 48, o + 58).toString('latin1').trim());
    if (name === '//') longNames = bytes.subarray(o + 60, o + 60 + size).toString('latin1');
    else if (/^\/\d+$/.test(name)) names.push(longNames.slice(Number(name.slice(1))).split('/\n')[0]);
    else if (name !== '/') names.push(name.replace(/\/$/, ''));
    o += 60 + size + (size % 2);
  }
  return names;
}

const magic = {};
const members = {};
for (const a of argv) {
  let bytes;
  try {
    if (!fs.statSync(a).isFile()) continue;
    bytes = fs.readFileSync(a);
  } catch {
    continue;
  }
  magic[a] = bytes.subarray(0, 4).toString('hex');
  if (bytes.subarray(0, 8).toString('latin1') === '!<arch>\n') members[a] = archiveMembers(bytes);
}
const i = argv.indexOf('--export-symbols');
const exportSymbols = i >= 0 ? fs.readFileSync(argv[i + 1], 'utf8') : undefined;

const r = spawnSync(process.execPath, [process.env.BPFL_CLI, ...argv], { encoding: 'utf8' });
process.stdout.write(r.stdout ?? '');
process.stderr.write(r.stderr ?? '');
const record = { argv, magic, archiveMembers: members, exportSymbols, stderr: r.stderr ?? '', status: r.status ?? -1 };
fs.writeFileSync(`${process.env.BPFL_RECORD_DIR}/${Date.now()}-${process.pid}.json`, JSON.stringify(record));
process.exit(r.status ?? 1);
