/* Restore an appliance backup from C: examples/c/restore.c BACKUP PASSWORD DEST [MD5]
 * Build against an installed library:  cc restore.c $(pkg-config --cflags --libs a0backup) */
#include <a0backup.h>

#include <stdio.h>
#include <string.h>

static int report(uint64_t done, uint64_t total, void *user_data) {
  (void)user_data;
  if (total > 0) fprintf(stderr, "\r%3u%%", (unsigned)(done * 100 / total));
  return 0; /* non-zero would cancel */
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BACKUP PASSWORD DEST [MD5]\n", argv[0]);
    return 2;
  }
  a0b_options options;
  a0b_options_init(&options);
  options.progress = report;
  const char *md5 = argc > 4 ? argv[4] : NULL;
  a0b_result r = a0b_restore(argv[1], argv[3], (const uint8_t *)argv[2], strlen(argv[2]), md5,
                             &options);
  fprintf(stderr, "\n");
  if (r != A0B_OK) {
    char message[512];
    a0b_last_error_message(message, sizeof message);
    fprintf(stderr, "a0backup %s: error %d: %s\n", a0b_version(), r, message);
    return 1;
  }
  printf("restored into %s\n", argv[3]);
  return 0;
}
