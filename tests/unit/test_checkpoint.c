/* test_checkpoint.c - checkpoint sidecars: bitwise round trip, the exact byte
 * layout, every corruption detected with the right offset, atomic replacement
 * (a leftover or failed .tmp never replaces a good checkpoint), and the atomic
 * text writer. */
#define _POSIX_C_SOURCE 200809L
#include "ns_test.h"

#include "normsweep/checkpoint.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512];
static void setup(void) { snprintf(dir, sizeof dir, "%s", ns_test_tmpdir("ckpt")); }
static void teardown(void) { ns_test_rmtree(dir); }

static const char *in_dir(const char *name)
{
    static char buf[4][700];
    static int k = 0;
    char *b = buf[k++ % 4];
    snprintf(b, 700, "%s/%s", dir, name);
    return b;
}

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* The message of the last error contains needle. */
#define ck_assert_msg_has(needle)                                                        \
    ck_assert_msg(strstr(ns_error_msg(), needle), "'%s' not in message '%s'", needle,     \
                  ns_error_msg())

/* Two parts "a" (5 bytes) and "b" (3 bytes): hand-computed layout
 * header 32 + table 2*64 = 160; a at [160,165); pad 165..167; b at [168,171). */
static const char A5[5] = {1, 2, 3, 4, 5}, B3[3] = {'x', 'y', 'z'};
static void write_ab(const char *p)
{
    ns_ckpt_part parts[2] = {{"a", A5, 5}, {"b", B3, 3}};
    ck_assert_int_eq(ns_ckpt_write(p, parts, 2), NS_OK);
}

/* Write the a/b checkpoint at p and return its bytes (caller frees). */
static unsigned char *ab_bytes(const char *p, size_t *n)
{
    write_ab(p);
    return slurp(p, n);
}

START_TEST(roundtrip_is_bitwise)
{
    enum { NP = 1000, NM = 333 };
    float params[NP];
    double mom[NM];
    for (int i = 0; i < NP; i++) params[i] = (float)i * 0.37f - 11.0f;
    params[0] = NAN;
    params[1] = -0.0f;
    params[2] = INFINITY;
    params[3] = 1e-42f; /* subnormal */
    for (int i = 0; i < NM; i++) mom[i] = 1.0 / (i + 1);
    const char meta[] = "{\"step\": 1200, \"lr\": 0.1}";
    unsigned char state[13];
    for (int i = 0; i < 13; i++) state[i] = (unsigned char)(255 - i);
    ns_ckpt_part parts[5] = {{"params", params, sizeof params},
                             {"momentum", mom, sizeof mom},
                             {"state", state, sizeof state},
                             {"meta", meta, sizeof meta},
                             {"empty", NULL, 0}};
    const char *p = in_dir("run0.ckpt");
    ck_assert_int_eq(ns_ckpt_write(p, parts, 5), NS_OK);
    ck_assert_int_eq(access(in_dir("run0.ckpt.tmp"), F_OK), -1); /* no .tmp left */
    /* size: 32 + 5*64 = 352; params [352,4352); momentum [4352,7016);
     * state [7016,7029); meta [7032,7059); empty [7064,7064) */
    ck_assert_int_eq(file_size(p), 7064);
    ns_ckpt *c = NULL;
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_OK);
    ck_assert_int_eq(ns_ckpt_nparts(c), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(ns_ckpt_part_name(c, i), parts[i].name);
        const void *d;
        size_t n;
        ck_assert_int_eq(ns_ckpt_get(c, parts[i].name, &d, &n), NS_OK);
        ck_assert_uint_eq(n, parts[i].size);
        ck_assert_uint_eq((uintptr_t)d % 8, 0); /* castable to double* */
        if (n) ck_assert(memcmp(d, parts[i].data, n) == 0);
    }
    ck_assert_ptr_null(ns_ckpt_part_name(c, 5));
    float back[NP];
    ck_assert_int_eq(ns_ckpt_get_into(c, "params", back, sizeof back), NS_OK);
    ck_assert(memcmp(back, params, sizeof back) == 0);
    ck_assert_int_eq(ns_ckpt_get_into(c, "params", back, sizeof back - 4), NS_ERR_FORMAT);
    ck_assert_msg_has("'params' has 4000 bytes, expected 3996");
    const void *d;
    size_t n;
    ck_assert_int_eq(ns_ckpt_get(c, "adam_v", &d, &n), NS_ERR_FORMAT);
    ck_assert_msg_has("no part 'adam_v'");
    ns_ckpt_free(c);
}
END_TEST

START_TEST(byte_layout_is_as_documented)
{
    const char *p = in_dir("ab.ckpt");
    size_t n;
    unsigned char *b = ab_bytes(p, &n);
    ck_assert_uint_eq(n, 171);
    ck_assert(memcmp(b, "NSWPCKPT", 8) == 0);
    ck_assert_int_eq(b[8], 1);           /* version, little-endian */
    ck_assert_int_eq(b[12], 2);          /* parts */
    ck_assert_int_eq(b[16], 171);        /* total size */
    ck_assert_str_eq((char *)b + 32, "a");
    ck_assert_int_eq(b[32 + 40], 160);   /* a's offset */
    ck_assert_int_eq(b[32 + 48], 5);     /* a's size */
    ck_assert_str_eq((char *)b + 96, "b");
    ck_assert_int_eq(b[96 + 40], 168);   /* b's offset: 165 rounded up to 8 */
    ck_assert(memcmp(b + 160, A5, 5) == 0);
    ck_assert(b[165] == 0 && b[166] == 0 && b[167] == 0);
    ck_assert(memcmp(b + 168, B3, 3) == 0);
    free(b);
}
END_TEST

START_TEST(missing_file_is_io_error)
{
    ns_ckpt *c = (ns_ckpt *)1;
    ck_assert_int_eq(ns_ckpt_read(in_dir("none.ckpt"), &c), NS_ERR_IO);
    ck_assert_ptr_null(c);
    ck_assert_msg_has("none.ckpt");
}
END_TEST

START_TEST(truncation_reports_offset)
{
    const char *p = in_dir("ab.ckpt");
    size_t n;
    unsigned char *b = ab_bytes(p, &n);
    static const struct { size_t len; const char *msg; } cases[] = {
        {170, "truncated at byte 170"}, {160, "truncated at byte 160"},
        {100, "truncated at byte 100"}, {31, "truncated at byte 31"},
        {0, "truncated at byte 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ck_assert_int_eq(ns_test_write_file(p, b, cases[i].len), 0);
        ns_ckpt *c = NULL;
        ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
        ck_assert_ptr_null(c);
        ck_assert_msg_has(cases[i].msg);
        ck_assert_msg_has("ab.ckpt");
    }
    /* trailing bytes are as wrong as missing ones */
    b[171] = 0;
    ck_assert_int_eq(ns_test_write_file(p, b, 172), 0);
    ns_ckpt *c = NULL;
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("trailing bytes at byte 171");
    free(b);
}
END_TEST

/* Flip each bit of every byte in turn: each corruption must be caught. */
START_TEST(every_flipped_byte_is_detected)
{
    const char *p = in_dir("ab.ckpt");
    size_t n;
    unsigned char *b = ab_bytes(p, &n);
    int caught = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            unlink(p); /* a fresh file: rewriting in place makes ext4 flush (auto_da_alloc) */
            ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
            ns_ckpt *c = NULL;
            ns_status st = ns_ckpt_read(p, &c);
            ck_assert_msg(st == NS_ERR_FORMAT, "flip of byte %zu bit %d not detected (%s)", i,
                          bit, ns_status_name(st));
            ck_assert_msg_has("ab.ckpt");
            caught++;
            b[i] ^= (unsigned char)(1u << bit);
        }
    ck_assert_int_eq(caught, 171 * 8);
    /* specific messages name the place */
    b[0] = 'X';
    ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
    ns_ckpt *c = NULL;
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("bad magic at byte 0");
    b[0] = 'N';
    b[8] = 2;
    ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("version 2 at byte 8");
    b[8] = 1;
    b[169] ^= 0x10; /* inside part b */
    ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("part 'b' is corrupt: CRC32 mismatch over bytes [168,171)");
    b[169] ^= 0x10;
    b[40] ^= 1; /* a's name field, in the table */
    ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("header CRC mismatch");
    b[40] ^= 1;
    b[166] = 7; /* padding */
    ck_assert_int_eq(ns_test_write_file(p, b, n), 0);
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_ERR_FORMAT);
    ck_assert_msg_has("padding byte at byte 166");
    free(b);
}
END_TEST

static void check_ab(const char *p)
{
    ns_ckpt *c = NULL;
    ck_assert_msg(ns_ckpt_read(p, &c) == NS_OK, "%s", ns_error_msg());
    char a[5];
    ck_assert_int_eq(ns_ckpt_get_into(c, "a", a, 5), NS_OK);
    ck_assert(memcmp(a, A5, 5) == 0);
    ns_ckpt_free(c);
}

START_TEST(leftover_tmp_never_replaces_a_good_checkpoint)
{
    const char *p = in_dir("r.ckpt"), *tmp = in_dir("r.ckpt.tmp");
    write_ab(p);
    /* a crashed writer left a half-written .tmp: readers ignore it */
    ck_assert_int_eq(ns_test_write_file(tmp, "NSWPCKPT garbage", 16), 0);
    check_ab(p);
    /* the next write overwrites the stale .tmp and leaves none behind */
    uint64_t step = 42;
    ns_ckpt_part one = {"meta", &step, sizeof step};
    ck_assert_int_eq(ns_ckpt_write(p, &one, 1), NS_OK);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ns_ckpt *c = NULL;
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_OK);
    uint64_t got = 0;
    ck_assert_int_eq(ns_ckpt_get_into(c, "meta", &got, sizeof got), NS_OK);
    ck_assert(got == 42);
    ns_ckpt_free(c);
}
END_TEST

START_TEST(failed_write_leaves_old_checkpoint)
{
    const char *p = in_dir("r.ckpt"), *tmp = in_dir("r.ckpt.tmp");
    write_ab(p);
    /* (1) the .tmp cannot even be created */
    ck_assert_int_eq(mkdir(tmp, 0755), 0);
    uint64_t step = 7;
    ns_ckpt_part one = {"meta", &step, sizeof step};
    ck_assert_int_eq(ns_ckpt_write(p, &one, 1), NS_ERR_IO);
    ck_assert_msg_has("r.ckpt.tmp");
    check_ab(p);
    ck_assert_int_eq(rmdir(tmp), 0);
    /* (2) the disk fills up mid-write (file size limit 4096 bytes) */
    static char big[65536];
    memset(big, 0x5a, sizeof big);
    ns_ckpt_part bigp = {"params", big, sizeof big};
    struct rlimit old, lim = {4096, 4096};
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN); /* get EFBIG instead of being killed */
    lim.rlim_max = old.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ns_status st = ns_ckpt_write(p, &bigp, 1);
    setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(st, NS_ERR_IO);
    ck_assert_msg_has("write failed at byte 4096");
    ck_assert_int_eq(access(tmp, F_OK), -1); /* the partial .tmp is removed */
    check_ab(p);                             /* and the old checkpoint is intact */
    /* (3) no such directory */
    ck_assert_int_eq(ns_ckpt_write(in_dir("nodir/x.ckpt"), &one, 1), NS_ERR_IO);
    ck_assert_msg_has("nodir/x.ckpt");
}
END_TEST

START_TEST(bad_parts_are_refused)
{
    const char *p = in_dir("bad.ckpt");
    char x = 1;
    ns_ckpt_part dup[2] = {{"a", &x, 1}, {"a", &x, 1}};
    ck_assert_int_eq(ns_ckpt_write(p, dup, 2), NS_ERR_ARG);
    ck_assert_msg_has("'a' given twice");
    ns_ckpt_part empty = {"", &x, 1};
    ck_assert_int_eq(ns_ckpt_write(p, &empty, 1), NS_ERR_ARG);
    ns_ckpt_part longname = {"a_part_name_of_forty_bytes_is_one_too_ml", &x, 1};
    ck_assert_uint_eq(strlen(longname.name), 40);
    ck_assert_int_eq(ns_ckpt_write(p, &longname, 1), NS_ERR_ARG);
    ck_assert_msg_has("1..39 bytes");
    ns_ckpt_part nulldata = {"a", NULL, 4};
    ck_assert_int_eq(ns_ckpt_write(p, &nulldata, 1), NS_ERR_ARG);
    ck_assert_int_eq(ns_ckpt_write(p, NULL, -1), NS_ERR_ARG);
    ck_assert_int_eq(access(p, F_OK), -1); /* nothing written */
    /* zero parts is a valid (empty) checkpoint of exactly 32 bytes */
    ck_assert_int_eq(ns_ckpt_write(p, NULL, 0), NS_OK);
    ck_assert_int_eq(file_size(p), 32);
    ns_ckpt *c = NULL;
    ck_assert_int_eq(ns_ckpt_read(p, &c), NS_OK);
    ck_assert_int_eq(ns_ckpt_nparts(c), 0);
    ns_ckpt_free(c);
}
END_TEST

START_TEST(atomic_text_file)
{
    const char *p = in_dir("progress.json");
    const char *long_text = "{\"runs_done\": 12, \"runs_total\": 36, \"eta_s\": 841.5}\n";
    ck_assert_int_eq(ns_write_file_atomic(p, long_text), NS_OK);
    size_t n;
    char *b = (char *)slurp(p, &n);
    b[n] = '\0';
    ck_assert_str_eq(b, long_text);
    free(b);
    /* a shorter replacement leaves no tail of the old text */
    ck_assert_int_eq(ns_write_file_atomic(p, "{}\n"), NS_OK);
    ck_assert_int_eq(file_size(p), 3);
    ck_assert_int_eq(access(in_dir("progress.json.tmp"), F_OK), -1);
    ck_assert_int_eq(ns_write_file_atomic(in_dir("no/such/dir.json"), "{}"), NS_ERR_IO);
    ck_assert_msg_has("no/such/dir.json");
    ck_assert_int_eq(ns_write_file_atomic(p, NULL), NS_ERR_ARG);
    ck_assert_int_eq(file_size(p), 3); /* untouched */
}
END_TEST

static Suite *ckpt_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, roundtrip_is_bitwise);
    tcase_add_test(tc, byte_layout_is_as_documented);
    tcase_add_test(tc, missing_file_is_io_error);
    tcase_add_test(tc, truncation_reports_offset);
    tcase_add_test(tc, every_flipped_byte_is_detected);
    tcase_add_test(tc, leftover_tmp_never_replaces_a_good_checkpoint);
    tcase_add_test(tc, failed_write_leaves_old_checkpoint);
    tcase_add_test(tc, bad_parts_are_refused);
    tcase_add_test(tc, atomic_text_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(ckpt_suite(), argc, argv); }
