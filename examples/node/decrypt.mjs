#!/usr/bin/env node
// A drop-in for the appliance's decrypt script, which needs crypto.createDecipher (removed in
// Node 22):
//
//   node decrypt.mjs PASSWORD INPUT OUTPUT [--md5 HEX] [--expect-gzip]
//
// Same arguments and same output as the original: OUTPUT gets the AES-256-CTR decryption of
// INPUT under the key and IV Node's createCipher derives from PASSWORD (its UTF-8 bytes), and
// an existing OUTPUT is replaced. Unlike the original, OUTPUT appears only once it is complete,
// and failures are reported with a message and a non-zero exit status.
//
// --md5 HEX      publish OUTPUT only if the md5 of INPUT is HEX (as `a0cli backup-status`
//                reports it); otherwise exit 4 and leave OUTPUT as it was.
// --expect-gzip  require the decrypted data to start as gzip does (a .tar.gz.enc backup), so a
//                wrong password is caught (exit 3) instead of producing garbage.

import * as a0b from './a0backup.mjs';

const USAGE = 'usage: node decrypt.mjs PASSWORD INPUT OUTPUT [--md5 HEX] [--expect-gzip]';

function usage(message) {
  if (message) process.stderr.write(`decrypt: ${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
// The first three arguments are positional whatever they look like (a password may start with
// "--"), as in the original script.
if (args.length < 3) usage(args.length === 0 ? null : 'PASSWORD, INPUT and OUTPUT are required');
const [password, input, output] = args;
const opts = { format: 'node', overwrite: true };
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
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } else {
    usage(`unexpected argument ${JSON.stringify(a)}`);
  }
}

try {
  a0b.decryptFile(input, output, password, opts);
} catch (e) {
  if (!(e instanceof a0b.A0BackupError)) throw e;
  process.stderr.write(`decrypt: ${e.message}\n`);
  // The exit codes of the a0backup command: 3 probably wrong password, 4 checksum mismatch.
  process.exit(e.code === a0b.ERR_WRONG_PASSWORD ? 3
    : e.code === a0b.ERR_CHECKSUM_MISMATCH ? 4
      : e.code === a0b.ERR_INVALID_ARGUMENT ? 2 : 1);
}
