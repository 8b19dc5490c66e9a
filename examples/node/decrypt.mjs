#!/usr/bin/env node
// A drop-in for the appliance's decrypt script, which needs crypto.createDecipher (removed in
// Node 22). Installed with the package as `a0backup-decrypt`; `--help` says it all (HELP below).

import fs from 'node:fs';
import * as a0b from './a0backup.mjs';

const USAGE = 'usage: a0backup-decrypt PASSWORD INPUT OUTPUT [--md5 HEX] [--expect-gzip]';
const HELP = `${USAGE}

Decrypts INPUT, a file the Auth0 Appliance encrypted (AES-256-CTR under the key and IV that
Node's crypto.createCipher derives from PASSWORD, its UTF-8 bytes), into OUTPUT: the same
arguments and the same bytes as the appliance's \`node decrypt\` script, on any Node version.
An existing OUTPUT is replaced, but only once the new one is complete and checked: on any
failure OUTPUT is left as it was and no partial file remains. Prints nothing on success.

A wrong password does not pass silently. The decrypted data must begin like gzip (a backup is
a .tar.gz) when INPUT ends in .gz.enc or .tgz.enc, or OUTPUT in .gz or .tgz, or with
--expect-gzip: otherwise the password is refused (exit 3) before anything is written. Under
other names the result is written, with a warning if it does not begin like gzip.

Options:
  --md5 HEX       publish OUTPUT only if the md5 of INPUT is HEX (as \`a0cli backup-status\`
                  reports it); otherwise exit 4
  --expect-gzip   require the decrypted data to begin like gzip, whatever the names
  -h, --help      this help

Exit status: 0 done, 1 an input or output error, 2 wrong usage, 3 probably a wrong password,
4 the md5 does not match.`;

function usage(message) {
  if (message) process.stderr.write(`a0backup-decrypt: ${message}\n`);
  process.stderr.write(`${USAGE}\n(--help for more)\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length > 0 && args.length < 3 && (args[0] === '-h' || args[0] === '--help')) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
// The first three arguments are positional whatever they look like (a password may start with
// "--"), as in the original script.
if (args.length < 3) usage(args.length === 0 ? null : 'PASSWORD, INPUT and OUTPUT are required');
// Options written first (`--md5 HEX PASSWORD IN OUT`) would be taken for the password: say so.
if (args.length > 3 && /^--(md5(=|$)|expect-gzip$)/.test(args[0])) {
  usage('options come after PASSWORD INPUT OUTPUT (the first three arguments are taken as they are)');
}
const [password, input, output] = args;
const opts = { format: 'node', replace: true, expectGzip: /\.t?gz\.enc$/i.test(input) || /\.t?gz$/i.test(output) };
for (let i = 3; i < args.length; i++) {
  const a = args[i];
  if (a === '--md5') {
    if (i + 1 >= args.length) usage('--md5 needs a value');
    opts.expectedMd5 = args[++i];
  } else if (a.startsWith('--md5=')) {
    opts.expectedMd5 = a.slice('--md5='.length);
  } else if (a === '--expect-gzip') {
    opts.expectGzip = true;
  } else if (a === '-h' || a === '--help') {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  } else {
    usage(`unexpected argument ${JSON.stringify(a)}`);
  }
}

try {
  a0b.decryptFile(input, output, password, opts);
} catch (e) {
  if (!(e instanceof a0b.A0BackupError)) throw e;
  process.stderr.write(`a0backup-decrypt: ${e.message}\n`);
  process.exit(e.code === a0b.ERR_WRONG_PASSWORD ? 3
    : e.code === a0b.ERR_CHECKSUM_MISMATCH ? 4
      : e.code === a0b.ERR_INVALID_ARGUMENT ? 2 : 1);
}

if (!opts.expectGzip) {
  const head = Buffer.alloc(3);
  const fd = fs.openSync(output, 'r');
  const n = fs.readSync(fd, head, 0, 3, 0);
  fs.closeSync(fd);
  if (n < 3 || head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 0x08) {
    process.stderr.write(`a0backup-decrypt: warning: the decrypted data does not begin like gzip (1f 8b 08): `
      + `if ${input} is a backup (.tar.gz.enc), the password is probably wrong (an OUTPUT named .tar.gz, `
      + 'or --expect-gzip, refuses such a result)\n');
  }
}
