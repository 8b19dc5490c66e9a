/* The C API from a real C caller. Expected values come from Node's createCipher and md5sum
 * (tests/data/createcipher-vectors.json, the sample backup's status record).
 * Usage: test_a0backup DATA_DIR SCRATCH_DIR */
#include "a0backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* a0b_check_each's callback: counts the rows (and the users collection), stops at stop_at. */
struct rows {
  int count;
  int users;
  int stop_at;
};

static int32_t count_rows(void *userdata, const char *json, size_t len) {
  struct rows *r = userdata;
  r->count++;
  if (strlen(json) != len || json[0] != '{') return 1;
  if (strstr(json, "\"collection\":\"users\"") != NULL) r->users++;
  return r->stop_at != 0 && r->count >= r->stop_at;
}

static int passed = 0, failed = 0;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (cond) {                                                             \
      passed++;                                                             \
    } else {                                                                \
      failed++;                                                             \
      char msg_[512];                                                       \
      a0b_last_error_message(msg_, sizeof msg_);                            \
      fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__,        \
              __LINE__, #cond, msg_);                                       \
    }                                                                       \
  } while (0)

static const char *data_dir, *scratch;
static char pathbuf[4][1024];

static const char *path(int slot, const char *dir, const char *name) {
  snprintf(pathbuf[slot], sizeof pathbuf[slot], "%s/%s", dir, name);
  return pathbuf[slot];
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static void to_hex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static void pattern(uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i % 251);
}

static void md5_of(const uint8_t *buf, size_t n, char hex[33]) {
  a0b_md5 *h = NULL;
  CHECK(a0b_md5_new(&h) == A0B_OK);
  CHECK(a0b_md5_update(h, buf, n) == A0B_OK);
  CHECK(a0b_md5_finish(h, hex) == A0B_OK);
  a0b_md5_free(h);
}

static const uint8_t PW[] = "Passw0rd";
#define PW_LEN 8
static const char *SAMPLE_MD5 = "eccdb928a3bab23f725f955b68ef66ff";

static void test_kdf_and_cipher(void) {
  uint8_t key[32], iv[16];
  char hex[65];
  CHECK(a0b_derive_key_iv(PW, PW_LEN, key, iv) == A0B_OK);
  to_hex(key, 32, hex);
  CHECK(strcmp(hex, "d41e98d1eafa6d6011d3a70f1a5b92f0ca0848e5cd053ce643c911dd09e1cf66") == 0);
  to_hex(iv, 16, hex);
  CHECK(strcmp(hex, "80634de08f03f93fc474b440533efcee") == 0);

  /* The empty password is a non-NULL pointer with length 0. */
  CHECK(a0b_derive_key_iv((const uint8_t *)"", 0, key, iv) == A0B_OK);
  to_hex(key, 16, hex);
  CHECK(strcmp(hex, "d41d8cd98f00b204e9800998ecf8427e") == 0);

  uint8_t buf[100], whole[100];
  char md5hex[33];
  pattern(buf, sizeof buf);
  md5_of(buf, sizeof buf, md5hex);
  CHECK(strcmp(md5hex, "7acedd1a84a4cfcb6e7a16003242945e") == 0);

  a0b_cipher *c = NULL;
  CHECK(a0b_cipher_new(PW, PW_LEN, &c) == A0B_OK && c != NULL);
  CHECK(a0b_cipher_apply(c, buf, 37) == A0B_OK);
  CHECK(a0b_cipher_apply(c, buf + 37, 63) == A0B_OK);
  CHECK(a0b_cipher_apply(c, NULL, 0) == A0B_OK);
  md5_of(buf, sizeof buf, md5hex);
  CHECK(strcmp(md5hex, "c3e89bae0bba4e4504316898d903a361") == 0);
  memcpy(whole, buf, sizeof buf);

  /* Seek: decrypting from offset 50 gives the plaintext from 50 on. */
  CHECK(a0b_cipher_seek(c, 50) == A0B_OK);
  CHECK(a0b_cipher_apply(c, buf + 50, 50) == A0B_OK);
  int ok = 1;
  for (int i = 50; i < 100; i++) ok &= buf[i] == (uint8_t)(i % 251);
  CHECK(ok);
  a0b_cipher_free(c);

  /* Raw key and IV, counter wrapping at 128 bits. */
  uint8_t k[32], v[16], wrap[80];
  for (int i = 0; i < 32; i++) k[i] = (uint8_t)i;
  memset(v, 0xff, 16);
  v[15] = 0xfe;
  pattern(wrap, sizeof wrap);
  CHECK(a0b_cipher_new_key_iv(k, v, &c) == A0B_OK);
  CHECK(a0b_cipher_apply(c, wrap, sizeof wrap) == A0B_OK);
  a0b_cipher_free(c);
  md5_of(wrap, sizeof wrap, md5hex);
  CHECK(strcmp(md5hex, "44e6c05cc64bc9ff94ff425864dd33ec") == 0);

  /* finish resets: hashing nothing now gives the empty md5. */
  a0b_md5 *h = NULL;
  CHECK(a0b_md5_new(&h) == A0B_OK);
  CHECK(a0b_md5_update(h, whole, 10) == A0B_OK);
  CHECK(a0b_md5_finish(h, md5hex) == A0B_OK);
  CHECK(a0b_md5_finish(h, md5hex) == A0B_OK);
  CHECK(strcmp(md5hex, "d41d8cd98f00b204e9800998ecf8427e") == 0);
  a0b_md5_free(h);
}

static int cancel_after_first(uint64_t done, uint64_t total, void *user_data) {
  int *calls = (int *)user_data;
  (void)done;
  (void)total;
  (*calls)++;
  return 1;
}

static int count_calls(uint64_t done, uint64_t total, void *user_data) {
  int *calls = (int *)user_data;
  (void)total;
  if (done > 0) (*calls)++;
  return 0;
}

/* a0b_dump's and a0b_diff's callback: counts the JSON texts, keeps the first, stops at stop_at. */
struct texts {
  int count;
  int stop_at;
  int bad;
  char first[256];
};

static int32_t keep_texts(void *userdata, const char *json, size_t len) {
  struct texts *t = userdata;
  if (strlen(json) != len || json[0] != '{' || json[len - 1] != '}') t->bad++;
  if (t->count == 0) snprintf(t->first, sizeof t->first, "%s", json);
  t->count++;
  return t->stop_at != 0 && t->count >= t->stop_at;
}

/* The documents of a .bson file, counted by their length prefixes (the oracle of a0b_dump). */
static int count_bson(const char *file) {
  FILE *f = fopen(file, "rb");
  if (f == NULL) return -1;
  int n = 0;
  uint8_t len[4];
  while (fread(len, 1, 4, f) == 4) {
    long size = (long)len[0] | (long)len[1] << 8 | (long)len[2] << 16 | (long)len[3] << 24;
    if (size < 5 || fseek(f, size - 4, SEEK_CUR) != 0) break;
    n++;
  }
  fclose(f);
  return n;
}

/* dump and diff straight from the sample backup: the documents of its restored users.bson. */
static void test_dump_and_diff(const char *sample, const char *restored_dump) {
  char users_bson[1024], tree[1024], before[1024], after[1024];
  snprintf(users_bson, sizeof users_bson, "%s/auth0/users.bson", restored_dump);
  snprintf(tree, sizeof tree, "%s", restored_dump);
  snprintf(before, sizeof before, "%s/before.tar.gz", scratch);
  snprintf(after, sizeof after, "%s/after.tar.gz", scratch);
  int users = count_bson(users_bson);
  CHECK(users > 0);

  char *summary = NULL;
  struct texts t = {0, 0, 0, ""};
  CHECK(a0b_dump(sample, PW, PW_LEN, SAMPLE_MD5, NULL, "auth0.users", NULL, A0B_JSON_CANONICAL, 0,
                 keep_texts, &t, &summary) == A0B_OK);
  CHECK(t.count == users && t.bad == 0);
  CHECK(strstr(t.first, "\"_id\":{\"$oid\":") != NULL);
  CHECK(summary != NULL && strstr(summary, "\"md5\":\"eccdb928a3bab23f725f955b68ef66ff\"") != NULL);
  a0b_string_free(summary);
  summary = NULL;
  /* A filter that selects nothing; a limit; a cancel from the callback. */
  struct texts none = {0, 0, 0, ""};
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.users", "{\"_id\": {\"$exists\": false}}",
                 A0B_JSON_RELAXED, 0, keep_texts, &none, &summary) == A0B_OK);
  CHECK(none.count == 0);
  a0b_string_free(summary);
  summary = NULL;
  struct texts one = {0, 0, 0, ""};
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.users", NULL, A0B_JSON_CANONICAL, 1,
                 keep_texts, &one, &summary) == A0B_OK);
  CHECK(one.count == 1 && strcmp(one.first, t.first) == 0);
  a0b_string_free(summary);
  summary = NULL;
  struct texts stop = {0, 1, 0, ""};
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.users", NULL, A0B_JSON_CANONICAL, 0,
                 keep_texts, &stop, &summary) == (users > 1 ? A0B_ERR_CANCELLED : A0B_OK));
  /* Refused: a missing collection, an operator outside the subset, a bad mode, a NULL name. */
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.user", NULL, A0B_JSON_CANONICAL, 0,
                 keep_texts, &stop, &summary) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.users", "{\"$where\": \"1\"}",
                 A0B_JSON_CANONICAL, 0, keep_texts, &stop, &summary) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, "auth0.users", NULL, 7, 0, keep_texts, &stop,
                 &summary) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_dump(sample, PW, PW_LEN, NULL, NULL, NULL, NULL, 0, 0, keep_texts, &stop, &summary) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_dump(sample, (const uint8_t *)"wrong", 5, NULL, NULL, "auth0.users", NULL, 0, 0,
                 keep_texts, &stop, &summary) == A0B_ERR_WRONG_PASSWORD);
  CHECK(summary == NULL);

  /* diff: the backup against itself, then a tree against itself with one document more. */
  struct texts rows = {0, 0, 0, ""};
  CHECK(a0b_diff(sample, sample, PW, PW_LEN, SAMPLE_MD5, NULL, NULL, "auth0.users", 1, keep_texts,
                 &rows, &summary) == A0B_OK);
  CHECK(rows.count == 1 && rows.bad == 0);
  CHECK(strstr(rows.first, "\"presence\":\"both\"") != NULL);
  CHECK(summary != NULL && strstr(summary, "\"added\":0") != NULL);
  a0b_string_free(summary);
  summary = NULL;
  CHECK(a0b_pack(tree, before, NULL, 0, NULL, NULL) == A0B_OK);
  FILE *f = fopen(users_bson, "ab");
  static const uint8_t added[] = {14, 0, 0, 0, 0x10, '_', 'i', 'd', 0, 0xe7, 3, 0, 0, 0};
  CHECK(f != NULL && fwrite(added, 1, sizeof added, f) == sizeof added && fclose(f) == 0);
  CHECK(a0b_pack(tree, after, NULL, 0, NULL, NULL) == A0B_OK);
  struct texts changes = {0, 0, 0, ""};
  CHECK(a0b_diff(before, after, NULL, 0, NULL, NULL, NULL, "auth0.users", 1, keep_texts, &changes,
                 &summary) == A0B_OK);
  CHECK(changes.count == 2 && changes.bad == 0);
  CHECK(strcmp(changes.first,
               "{\"collection\":\"auth0.users\",\"change\":\"added\",\"_id\":{\"$numberInt\":\"999\"}}") == 0);
  CHECK(summary != NULL && strstr(summary, "\"added\":1") != NULL);
  a0b_string_free(summary);
}

static void test_files(void) {
  const char *sample = path(0, data_dir, "sample-backup/backup-retrieve.tar.gz.enc");
  char hex[33];
  CHECK(a0b_md5_file(sample, hex) == A0B_OK);
  CHECK(strcmp(hex, SAMPLE_MD5) == 0);

  a0b_options o;
  CHECK(a0b_options_init(&o) == A0B_OK);
  CHECK(o.struct_size == sizeof o);
  o.expect_gzip = true;

  const char *out = path(1, scratch, "backup.tar.gz");
  CHECK(a0b_decrypt_file(sample, out, PW, PW_LEN, "00000000000000000000000000000000", &o) ==
        A0B_ERR_CHECKSUM_MISMATCH);
  CHECK(!exists(out));
  CHECK(a0b_decrypt_file(sample, out, (const uint8_t *)"wrong", 5, NULL, &o) ==
        A0B_ERR_WRONG_PASSWORD);
  CHECK(!exists(out));
  int calls = 0;
  o.progress = count_calls;
  o.user_data = &calls;
  CHECK(a0b_decrypt_file(sample, out, PW, PW_LEN, SAMPLE_MD5, &o) == A0B_OK);
  CHECK(calls > 0);
  CHECK(exists(out));
  /* Not again without overwrite. */
  CHECK(a0b_decrypt_file(sample, out, PW, PW_LEN, NULL, NULL) == A0B_ERR_ALREADY_EXISTS);

  /* Encrypt it back in the Node format: the original bytes, so the appliance's md5. */
  const char *again = path(2, scratch, "again.tar.gz.enc");
  CHECK(a0b_encrypt_file(out, again, PW, PW_LEN, NULL) == A0B_OK);
  CHECK(a0b_md5_file(again, hex) == A0B_OK);
  CHECK(strcmp(hex, SAMPLE_MD5) == 0);

  /* Restore; a cancel from the callback leaves no destination. */
  const char *dest = path(1, scratch, "restored");
  a0b_options_init(&o);
  calls = 0;
  o.progress = cancel_after_first;
  o.user_data = &calls;
  CHECK(a0b_restore(sample, dest, PW, PW_LEN, SAMPLE_MD5, &o) == A0B_ERR_CANCELLED);
  CHECK(calls == 1);
  CHECK(!exists(dest));
  CHECK(a0b_restore(sample, dest, PW, PW_LEN, SAMPLE_MD5, NULL) == A0B_OK);
  CHECK(exists(path(2, dest, "dump/auth0/users.bson")));
  CHECK(a0b_restore(sample, dest, PW, PW_LEN, NULL, NULL) == A0B_ERR_ALREADY_EXISTS);

  /* Check the same backup without writing: a JSON report, freed by the library. */
  char *report = NULL;
  CHECK(a0b_check(sample, PW, PW_LEN, SAMPLE_MD5, NULL, &report) == A0B_OK && report != NULL);
  CHECK(strstr(report, "\"restorable\":true") != NULL);
  CHECK(strstr(report, "\"collections_ok\":true") != NULL);
  CHECK(strstr(report, "\"users\"") != NULL);
  a0b_string_free(report);
  a0b_string_free(NULL);
  report = NULL;
  CHECK(a0b_check(sample, PW, PW_LEN, "00000000000000000000000000000000", NULL, &report) ==
        A0B_ERR_CHECKSUM_MISMATCH);
  CHECK(report == NULL);

  /* The same, row by row: each collection's JSON to a callback, then the summary. */
  struct rows rows = {0, 0, 0};
  CHECK(a0b_check_each(sample, PW, PW_LEN, SAMPLE_MD5, NULL, count_rows, &rows, &report) == A0B_OK);
  CHECK(rows.count > 0 && rows.users == 1);
  CHECK(strstr(report, "\"collections\":[]") != NULL);
  CHECK(strstr(report, "\"collections_ok\":true") != NULL);
  a0b_string_free(report);
  report = NULL;
  rows.stop_at = 1;
  rows.count = 0;
  CHECK(a0b_check_each(sample, PW, PW_LEN, NULL, NULL, count_rows, &rows, &report) ==
        A0B_ERR_CANCELLED);
  CHECK(rows.count == 1 && report == NULL);
  CHECK(a0b_check_each(sample, PW, PW_LEN, NULL, NULL, NULL, &rows, &report) ==
        A0B_ERR_INVALID_ARGUMENT);

  /* Pack what was restored, encrypted, and restore that. */
  const char *packed = path(2, scratch, "packed.tar.gz.enc");
  char md5_out[33];
  a0b_options_init(&o);
  o.format = A0B_FORMAT_OPENSSL_PBKDF2;
  o.pbkdf2_iterations = 1000;
  CHECK(a0b_pack(path(3, dest, "dump"), packed, PW, PW_LEN, md5_out, &o) == A0B_OK);
  CHECK(a0b_md5_file(packed, hex) == A0B_OK);
  CHECK(strcmp(hex, md5_out) == 0);
  CHECK(a0b_restore(packed, path(3, scratch, "second"), PW, PW_LEN, md5_out, &o) == A0B_OK);
  /* A plain .tar.gz with a NULL password. */
  CHECK(a0b_pack(path(3, dest, "dump"), path(2, scratch, "plain.tar.gz"), NULL, 0, NULL, NULL) ==
        A0B_OK);
  test_dump_and_diff(sample, path(3, dest, "dump"));
}

/* --- Streams: memory behind read and write callbacks ------------------------------------------ */

struct mem_reader {
  const uint8_t *data;
  size_t len, pos;
  size_t chunk;   /* most bytes per call (0: as many as asked) */
  int fail_at;    /* the call that fails with -7 (0: none) */
  int calls;
};

static int32_t mem_read(void *userdata, uint8_t *buf, size_t len, size_t *out_n) {
  struct mem_reader *r = (struct mem_reader *)userdata;
  r->calls++;
  if (r->fail_at != 0 && r->calls >= r->fail_at) return -7;
  size_t n = r->len - r->pos;
  if (n > len) n = len;
  if (r->chunk != 0 && n > r->chunk) n = r->chunk;
  memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  *out_n = n;
  return 0;
}

struct mem_writer {
  uint8_t *data;
  size_t len, cap;
  size_t take;     /* most bytes taken per call (0: all) */
  size_t fail_after; /* fail with 28 (ENOSPC) once this many bytes are held (0: never) */
};

static int32_t mem_write(void *userdata, const uint8_t *buf, size_t len, size_t *out_n) {
  struct mem_writer *w = (struct mem_writer *)userdata;
  if (w->fail_after != 0 && w->len >= w->fail_after) return 28;
  size_t n = (w->take != 0 && len > w->take) ? w->take : len;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4096;
    while (cap < w->len + n) cap *= 2;
    uint8_t *grown = realloc(w->data, cap);
    if (grown == NULL) return 12;
    w->data = grown;
    w->cap = cap;
  }
  memcpy(w->data + w->len, buf, n);
  w->len += n;
  *out_n = n;
  return 0;
}

static uint8_t *read_file(const char *p, size_t *len) {
  FILE *f = fopen(p, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
  *len = fread(buf, 1, (size_t)size, f);
  fclose(f);
  return buf;
}

static int last_error_contains(const char *what) {
  char msg[512];
  a0b_last_error_message(msg, sizeof msg);
  return strstr(msg, what) != NULL;
}

static void test_streams(void) {
  size_t sample_len = 0;
  uint8_t *sample = read_file(path(0, data_dir, "sample-backup/backup-retrieve.tar.gz.enc"),
                              &sample_len);
  CHECK(sample != NULL && sample_len > 1000);
  if (sample == NULL) return;
  char hex[33];

  /* md5 of a stream, in small reads. */
  struct mem_reader r = {sample, sample_len, 0, 1000, 0, 0};
  CHECK(a0b_md5_stream(mem_read, &r, hex) == A0B_OK);
  CHECK(strcmp(hex, SAMPLE_MD5) == 0);
  CHECK(r.calls > (int)(sample_len / 1000));

  /* Decrypt from memory into memory, the md5 checked, into a writer taking 7 bytes a time. */
  a0b_options o;
  a0b_options_init(&o);
  o.expect_gzip = 2; /* any non-zero byte is "on" */
  int calls = 0;
  o.progress = count_calls;
  o.user_data = &calls;
  struct mem_reader in = {sample, sample_len, 0, 0, 0, 0};
  struct mem_writer plain = {NULL, 0, 0, 7, 0};
  CHECK(a0b_decrypt_stream(mem_read, &in, mem_write, &plain, PW, PW_LEN, SAMPLE_MD5, &o) ==
        A0B_OK);
  CHECK(plain.len == sample_len && plain.data[0] == 0x1f && plain.data[1] == 0x8b);
  CHECK(calls > 0);

  /* The same bytes as the file function's output. */
  size_t file_len = 0;
  uint8_t *from_file = read_file(path(1, scratch, "backup.tar.gz"), &file_len);
  CHECK(from_file != NULL && file_len == plain.len && memcmp(from_file, plain.data, file_len) == 0);
  free(from_file);

  /* Encrypt it back in the Node format: the appliance's bytes, and its md5 reported. */
  struct mem_reader back = {plain.data, plain.len, 0, 333, 0, 0};
  struct mem_writer enc = {NULL, 0, 0, 0, 0};
  char md5_out[33] = "untouched";
  CHECK(a0b_encrypt_stream(mem_read, &back, mem_write, &enc, PW, PW_LEN, md5_out, NULL) ==
        A0B_OK);
  CHECK(strcmp(md5_out, SAMPLE_MD5) == 0);
  CHECK(enc.len == sample_len && memcmp(enc.data, sample, sample_len) == 0);
  free(enc.data);

  /* A wrong md5: the plaintext was written, and the call says to discard it. */
  struct mem_reader in2 = {sample, sample_len, 0, 0, 0, 0};
  struct mem_writer plain2 = {NULL, 0, 0, 0, 0};
  CHECK(a0b_decrypt_stream(mem_read, &in2, mem_write, &plain2, PW, PW_LEN,
                           "00000000000000000000000000000000", NULL) == A0B_ERR_CHECKSUM_MISMATCH);
  free(plain2.data);
  /* A wrong password with expect_gzip: nothing written. */
  struct mem_reader in3 = {sample, sample_len, 0, 0, 0, 0};
  struct mem_writer none = {NULL, 0, 0, 0, 0};
  a0b_options_init(&o);
  o.expect_gzip = 1;
  CHECK(a0b_decrypt_stream(mem_read, &in3, mem_write, &none, (const uint8_t *)"wrong", 5, NULL,
                           &o) == A0B_ERR_WRONG_PASSWORD);
  CHECK(none.len == 0);
  /* A failing writer: A0B_ERR_IO naming the callback and its code. */
  struct mem_reader in4 = {sample, sample_len, 0, 0, 0, 0};
  struct mem_writer full = {NULL, 0, 0, 1000, 1};
  CHECK(a0b_decrypt_stream(mem_read, &in4, mem_write, &full, PW, PW_LEN, NULL, NULL) ==
        A0B_ERR_IO);
  CHECK(last_error_contains("write callback") && last_error_contains("28"));
  free(full.data);

  /* Restore from a stream in uneven reads; a failing reader leaves no destination. */
  const char *dest = path(2, scratch, "from-stream");
  struct mem_reader failing = {sample, sample_len, 0, 4096, 3, 0};
  CHECK(a0b_restore_stream(mem_read, &failing, dest, PW, PW_LEN, SAMPLE_MD5, NULL) == A0B_ERR_IO);
  CHECK(last_error_contains("read callback") && last_error_contains("-7"));
  CHECK(failing.calls == 3); /* not called again after its failure */
  CHECK(!exists(dest));
  /* Without an md5 to compare either: a failing reader is an I/O error, not a damaged backup
   * (the failure lands inside the gzip stream). */
  struct mem_reader failing2 = {sample, sample_len, 0, 4096, 3, 0};
  CHECK(a0b_restore_stream(mem_read, &failing2, dest, PW, PW_LEN, NULL, NULL) == A0B_ERR_IO);
  CHECK(last_error_contains("read callback") && last_error_contains("-7"));
  CHECK(!exists(dest));
  struct mem_reader wrong = {sample, sample_len, 0, 0, 0, 0};
  CHECK(a0b_restore_stream(mem_read, &wrong, dest, (const uint8_t *)"wrong", 5, NULL, NULL) ==
        A0B_ERR_WRONG_PASSWORD);
  CHECK(!exists(dest));
  struct mem_reader good = {sample, sample_len, 0, 1777, 0, 0};
  CHECK(a0b_restore_stream(mem_read, &good, dest, PW, PW_LEN, SAMPLE_MD5, NULL) == A0B_OK);
  CHECK(exists(path(3, dest, "dump/auth0/users.bson")));

  /* Pack into a stream (encrypted, then plain) and restore what it wrote. */
  struct mem_writer packed = {NULL, 0, 0, 0, 0};
  CHECK(a0b_pack_stream(path(3, dest, "dump"), mem_write, &packed, PW, PW_LEN, md5_out, NULL) ==
        A0B_OK);
  md5_of(packed.data, packed.len, hex);
  CHECK(strcmp(hex, md5_out) == 0);
  struct mem_reader repack = {packed.data, packed.len, 0, 0, 0, 0};
  CHECK(a0b_restore_stream(mem_read, &repack, path(3, scratch, "repacked"), PW, PW_LEN, md5_out,
                           NULL) == A0B_OK);
  free(packed.data);
  struct mem_writer plain_tgz = {NULL, 0, 0, 0, 0};
  CHECK(a0b_pack_stream(path(3, dest, "dump"), mem_write, &plain_tgz, NULL, 0, NULL, NULL) ==
        A0B_OK);
  CHECK(plain_tgz.len > 2 && plain_tgz.data[0] == 0x1f && plain_tgz.data[1] == 0x8b);
  free(plain_tgz.data);

  /* NULL callbacks and buffers. */
  CHECK(a0b_md5_stream(NULL, &r, hex) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_stream(mem_read, &r, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_stream(NULL, &in, mem_write, &plain, PW, PW_LEN, NULL, NULL) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_stream(mem_read, &in, NULL, &plain, PW, PW_LEN, NULL, NULL) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_stream(mem_read, &in, mem_write, &plain, NULL, 0, NULL, NULL) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_encrypt_stream(mem_read, &in, NULL, &plain, PW, PW_LEN, NULL, NULL) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_restore_stream(NULL, &in, dest, PW, PW_LEN, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_restore_stream(mem_read, &in, NULL, PW, PW_LEN, NULL, NULL) ==
        A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_pack_stream(NULL, mem_write, &plain, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_pack_stream(dest, NULL, &plain, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  free(plain.data);
  free(sample);
}

static void test_invalid_arguments(void) {
  uint8_t key[32], iv[16];
  memset(key, 0xaa, sizeof key);
  CHECK(a0b_derive_key_iv(NULL, 0, key, iv) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(key[0] == 0xaa); /* out-params untouched on failure */
  CHECK(a0b_derive_key_iv(PW, PW_LEN, NULL, iv) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_derive_key_iv(PW, PW_LEN, key, NULL) == A0B_ERR_INVALID_ARGUMENT);

  a0b_cipher *c = (a0b_cipher *)0x1;
  CHECK(a0b_cipher_new(NULL, 3, &c) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(c == (a0b_cipher *)0x1);
  CHECK(a0b_cipher_new(PW, PW_LEN, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_new_key_iv(NULL, iv, &c) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_new_key_iv(key, NULL, &c) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_new_key_iv(key, iv, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_apply(NULL, key, 4) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_seek(NULL, 4) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_cipher_new(PW, PW_LEN, &c) == A0B_OK);
  CHECK(a0b_cipher_apply(c, NULL, 4) == A0B_ERR_INVALID_ARGUMENT);
  a0b_cipher_free(c);
  a0b_cipher_free(NULL);

  a0b_md5 *h = NULL;
  char hex[33];
  CHECK(a0b_md5_new(NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_update(NULL, key, 1) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_finish(NULL, hex) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_new(&h) == A0B_OK);
  CHECK(a0b_md5_update(h, NULL, 1) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_finish(h, NULL) == A0B_ERR_INVALID_ARGUMENT);
  a0b_md5_free(h);
  a0b_md5_free(NULL);
  CHECK(a0b_md5_file(NULL, hex) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_file("x", NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_md5_file(path(0, scratch, "does-not-exist"), hex) == A0B_ERR_IO);

  const char *in = path(0, data_dir, "sample-backup/backup-retrieve.tar.gz.enc");
  const char *out = path(1, scratch, "never");
  CHECK(a0b_decrypt_file(NULL, out, PW, PW_LEN, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_file(in, NULL, PW, PW_LEN, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_file(in, out, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_decrypt_file(in, out, PW, PW_LEN, "not hex", NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_encrypt_file(NULL, out, PW, PW_LEN, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_encrypt_file(in, NULL, PW, PW_LEN, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_encrypt_file(in, out, NULL, 0, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_restore(NULL, out, PW, PW_LEN, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_restore(in, NULL, PW, PW_LEN, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_restore(in, out, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_pack(NULL, out, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_pack(scratch, NULL, NULL, 0, NULL, NULL) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(a0b_options_init(NULL) == A0B_ERR_INVALID_ARGUMENT);

  a0b_options o;
  a0b_options_init(&o);
  o.struct_size = 8;
  CHECK(a0b_decrypt_file(in, out, PW, PW_LEN, NULL, &o) == A0B_ERR_INVALID_ARGUMENT);
  a0b_options_init(&o);
  o.format = 99;
  CHECK(a0b_encrypt_file(in, out, PW, PW_LEN, &o) == A0B_ERR_INVALID_ARGUMENT);
  CHECK(!exists(out));

  /* The message API: length including the NUL, cut to fit. */
  size_t need = a0b_last_error_message(NULL, 0);
  CHECK(need > 10);
  char small[8];
  CHECK(a0b_last_error_message(small, sizeof small) == need);
  CHECK(strlen(small) == 7);
  char *big = malloc(need);
  CHECK(a0b_last_error_message(big, need) == need);
  CHECK(strstr(big, "format") != NULL);
  free(big);
  CHECK(a0b_version() != NULL && strlen(a0b_version()) > 0);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DATA_DIR SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  data_dir = argv[1];
  scratch = argv[2];
  test_kdf_and_cipher();
  test_files();
  test_streams();
  test_invalid_arguments();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
