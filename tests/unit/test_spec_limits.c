/* test_spec_limits.c - sizes a run cannot survive, and hostile bytes, are
 * refused at validation with file:line:col (issue 17, row 12 and the spec
 * messages). Each case was accepted, or badly reported, before. */
#include "spec_expect.h"
#include "normsweep/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define LIMITS "see 'Limits' in docs/sweep-format.md"

START_TEST(step_and_record_limits)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 1000000000000}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n"
                  "checkpoint: {every: 9223372036854775807}\n",
                  "t.yaml:2:16: train.steps: 1000000000000 is over the limit of 1000000000 (" LIMITS ")\n"
                  "t.yaml:4:21: checkpoint.every: 9223372036854775807 is over the limit of "
                  "1000000000 (" LIMITS ")\n");
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 1e12}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n",
                  "t.yaml:2:16: train.steps: expected an integer, got '1e12' (write it out: "
                  "1000000000000)\n");
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 100000000}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n"
                  "probes: {every: 10}\n",
                  "t.yaml:2:16: train: 100000000 steps logged every 1 make 100000000 records per "
                  "run, over the limit of 10000000 (raise train.log_every; " LIMITS ")\n"
                  "t.yaml:4:17: probes.every: 10000000 probe steps per run, over the limit of "
                  "100000 (" LIMITS ")\n");
    /* a schedule key with a bad value is reported, not divided by */
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 100}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n"
                  "probes: {every: {}}\n",
                  "t.yaml:4:17: probes.every: expected an integer, got a mapping\n");
    /* 200 x 200 runs of 100000 logged steps: too big for one results file */
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 100000}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: {log_range: [1.0e-3, 1], count: 200},\n"
                  "       seed: {count: 200}}\n",
                  "t.yaml:3:7: grid: 40000 runs x 100000 logged steps = 4e+09 trace records, over "
                  "the limit of 2.15e+09 for one results file (split the sweep or raise "
                  "train.log_every; " LIMITS ")\n");
}
END_TEST

START_TEST(size_limits)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: [\"vgg11:width=1000\", \"vgg11:width=0.125\"], norm: [\"group:groups=3\", batch],\n"
                  "       lr: 0.1}\n",
                  "t.yaml:3:15: grid.arch[0]: 'vgg11:width=1000' has 9.22e+12 parameters, over "
                  "the limit of 2.68e+08 per run (" LIMITS ")\n"
                  "t.yaml:3:64: grid.norm[0]: 'group:groups=3' does not fit 'vgg11:width=0.125': "
                  "groups=3 does not divide the 8 channels of layer 1\n");
    EXPECT_ERRORS("data: synthetic-cls:n=64,test=16,c=16,h=1,w=1,classes=3\n"
                  "train: {steps: 10, batch: 64}\n"
                  "grid: {arch: \"mlp:16-65536-65536-3\", norm: none, lr: 0.1}\n",
                  "t.yaml:3:14: grid.arch[0]: 'mlp:16-65536-65536-3' has 4.3e+09 parameters, "
                  "over the limit of 2.68e+08 per run (" LIMITS ")\n");
    /* activations depend on each run's batch: checked per run, once per arch */
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: [\"vgg11:width=2\", \"mlp:784-10\"], norm: batch, lr: 0.1, batch: [64, full]}\n",
                  "t.yaml:3:15: grid.arch[0]: 'vgg11:width=2' at batch 60000 holds about "
                  "4.24e+10 activation values per step, over the limit of 2.15e+09 (use a smaller "
                  "batch or width; " LIMITS ")\n");
}
END_TEST

/* start + count - 1 would overflow int64 (undefined behaviour before). */
START_TEST(seed_overflow)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1,\n"
                  "       seed: {count: 2, start: 9223372036854775807}}\n",
                  "t.yaml:4:32: grid.seed.start: 9223372036854775807 + 2 seeds go past the "
                  "largest seed 9223372036854775807\n");
    ns_spec *s = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n"
                         "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1,\n"
                         "       seed: {count: 2, start: 9223372036854775806}}\n", NULL);
    ck_assert_uint_eq(s->runs[1].seed, 9223372036854775807ull);
    ns_spec_free(s);
}
END_TEST

/* docs: "duplicate axis values are errors" - a log_range can make them too */
START_TEST(log_range_duplicates)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: {log_range: [0.1, 0.1], count: 3}}\n",
                  "t.yaml:3:44: grid.lr: log_range [0.1, 0.1] with count 3 repeats the value 0.1 "
                  "(duplicate runs; widen the range or lower the count)\n");
    ns_spec *s = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n"
                         "grid: {arch: \"mlp:784-10\", norm: none,\n"
                         "       lr: {log_range: [0.1, 0.1], count: 1}}\n", NULL);
    ck_assert_int_eq(s->nruns, 1);
    ns_spec_free(s);
}
END_TEST

/* A byte that is not UTF-8 is reported where it is, not at 1:1. */
START_TEST(non_utf8_position)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\xff\", norm: none, lr: 0.1}\n",
                  "t.yaml:3:25: YAML syntax error: invalid leading UTF-8 octet (byte 0xFF at byte "
                  "offset 63; a sweep file must be UTF-8 text)\n");
    /* columns count characters: the two-byte e-acute is one column */
    EXPECT_ERRORS("name: caf\xc3\xa9\ndata: \xc3\xa9\xc3\xa9\x80x\n",
                  "t.yaml:2:9: YAML syntax error: invalid leading UTF-8 octet (byte 0x80 at byte "
                  "offset 22; a sweep file must be UTF-8 text)\n");
}
END_TEST

/* Control characters never reach the terminal: escaped in every message,
 * refused in names. */
START_TEST(control_characters)
{
    EXPECT_ERRORS("name: \"a\\e[2Jb\"\n"
                  "description: \"two\\nlines are fine\"\n"
                  "data: \"fashion-mnist\\t\"\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: \"\\e[31mred\\u0085\", lr: 0.1}\n",
                  "t.yaml:1:7: name: control character \\x1b in 'a\\x1b[2Jb' is not allowed\n"
                  "t.yaml:3:7: data: control character \\x09 in 'fashion-mnist\\t' is not allowed\n"
                  "t.yaml:5:34: grid.norm[0]: norm \"\\x1b[31mred\\u0085\": unknown normalization "
                  "'\\x1b[31mred\\u0085' (expected none, batch, noisy_batch, l1, l2, linf, layer or "
                  "group)\n");
}
END_TEST

static Suite *spec_limits_suite(void)
{
    Suite *s = suite_create("spec_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_test(tc, step_and_record_limits);
    tcase_add_test(tc, size_limits);
    tcase_add_test(tc, seed_overflow);
    tcase_add_test(tc, log_range_duplicates);
    tcase_add_test(tc, non_utf8_position);
    tcase_add_test(tc, control_characters);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_limits_suite(), argc, argv); }
