/* spec.c - data set spec strings -> ns_data_spec with one canonical spelling.
 *   NAME[:ARG]   file kinds: ARG is DIR, DIR,OPTIONS or OPTIONS (default DIR),
 *                  OPTIONS = key=value[,key=value...] with keys from FILE_KEYS
 *                synthetic kinds: ARG is key=value[,key=value...]
 * The canonical string uses the resolved absolute directory, or every key of a
 * synthetic kind with its value in a fixed order, so that two spellings of the
 * same data share one cache entry and one record in the output metadata. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "data/data_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest synthetic set: 2^31 floats per array (8 GiB). */
#define SYNTH_MAX_FLOATS ((size_t)1 << 31)

static ns_status resolve_dir(const char *name, const char *arg, char *dir)
{
    char buf[PATH_MAX];
    if (!realpath(arg, buf))
        return ns_error_set(NS_ERR_IO, "%s: data directory %s: %s", name, arg, strerror(errno));
    struct stat st;
    NS_CHECK(stat(buf, &st) == 0 && S_ISDIR(st.st_mode), NS_ERR_IO,
             "%s: data directory %s: not a directory", name, arg);
    NS_CHECK(strlen(buf) < NS_DATA_PATH_MAX, NS_ERR_ARG,
             "%s: data directory path %s is longer than %d characters", name, buf,
             NS_DATA_PATH_MAX - 1);
    strcpy(dir, buf);
    return NS_OK;
}

/* CIFAR-10's archive unpacks into cifar-10-batches-bin/: accept its parent too. */
static void cifar_descend(char *dir)
{
    char probe[NS_DATA_PATH_MAX + 48];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/data_batch_1.bin", dir);
    if (stat(probe, &st) == 0) return;
    snprintf(probe, sizeof probe, "%s/cifar-10-batches-bin", dir);
    if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode) && strlen(probe) < NS_DATA_PATH_MAX)
        strcpy(dir, probe);
}

typedef struct key_def {
    const char *key;
    int is_real;
    double lo, hi; /* accepted range */
    double def;
} key_def;

static const key_def DLN_KEYS[] = {
    {"n", 0, 1, 1e8, 1000}, {"d", 0, 1, 4096, 10}, {"test", 0, 0, 1e8, 0}};
static const key_def CLS_KEYS[] = {
    {"n", 0, 1, 1e8, 512},    {"test", 0, 0, 1e8, 128}, {"c", 0, 1, 4096, 3},
    {"h", 0, 1, 4096, 8},     {"w", 0, 1, 4096, 8},     {"classes", 0, 2, 65536, 4},
    {"noise", 1, 0, 1e6, 1.0}, {"pad", 0, 0, NS_DATA_PAD_MAX, 0}};
/* Options of the file kinds (idx, cifar10), after the directory. */
static const key_def FILE_KEYS[] = {{"pad", 0, 0, NS_DATA_PAD_MAX, 0}};
#define MAX_KEYS 8

static ns_status parse_keys(const char *name, const char *arg, const key_def *keys, int nkeys,
                            double *val)
{
    int seen[MAX_KEYS] = {0};
    for (int i = 0; i < nkeys; i++) val[i] = keys[i].def;
    if (!arg || !*arg) return NS_OK;
    char buf[256];
    NS_CHECK(strlen(arg) < sizeof buf, NS_ERR_ARG, "%s: option list too long", name);
    strcpy(buf, arg);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        NS_CHECK(eq && eq != tok && eq[1], NS_ERR_ARG,
                 "%s: '%s' is not of the form key=value", name, tok);
        *eq = '\0';
        const char *v = eq + 1;
        int k = 0;
        while (k < nkeys && strcmp(keys[k].key, tok) != 0) k++;
        if (k == nkeys) {
            char list[128] = "";
            for (int i = 0; i < nkeys; i++) {
                strcat(list, i ? ", " : "");
                strcat(list, keys[i].key);
            }
            return ns_error_set(NS_ERR_ARG, "%s: unknown key '%s' (keys: %s)", name, tok, list);
        }
        NS_CHECK(!seen[k], NS_ERR_ARG, "%s: key '%s' given twice", name, tok);
        seen[k] = 1;
        char *end = NULL;
        errno = 0;
        double x = keys[k].is_real ? strtod(v, &end) : (double)strtoll(v, &end, 10);
        NS_CHECK(end != v && *end == '\0' && errno == 0 && isfinite(x), NS_ERR_ARG,
                 "%s: %s=%s is not %s", name, tok, v, keys[k].is_real ? "a number" : "an integer");
        NS_CHECK(x >= keys[k].lo && x <= keys[k].hi, NS_ERR_ARG,
                 "%s: %s=%s is out of range [%.9g, %.9g]", name, tok, v, keys[k].lo, keys[k].hi);
        val[k] = x;
    }
    return NS_OK;
}

static ns_status check_floats(const char *name, size_t n, size_t per)
{
    NS_CHECK(n <= SYNTH_MAX_FLOATS / per, NS_ERR_ARG,
             "%s: %zu samples of %zu values exceed the limit of %zu values per array", name, n,
             per, SYNTH_MAX_FLOATS);
    return NS_OK;
}

/* Options are spelled in the canonical string only when set, so that the
 * spelling of an unpadded set (and the files made before `pad` existed) stays
 * the same. */
static void append_pad(ns_data_spec *o)
{
    size_t n = strlen(o->canonical);
    if (o->pad > 0) snprintf(o->canonical + n, sizeof o->canonical - n, ",pad=%d", o->pad);
}

static ns_status parse_synth(ns_data_spec *o, const char *arg)
{
    double v[MAX_KEYS];
    if (o->kind == NS_DATA_SYNTH_DLN) {
        NS_TRY(parse_keys(o->name, arg, DLN_KEYS, 3, v));
        o->n = (size_t)v[0];
        o->d = (int)v[1];
        o->test = (size_t)v[2];
        NS_TRY(check_floats(o->name, o->n > o->test ? o->n : o->test, (size_t)o->d));
        snprintf(o->canonical, sizeof o->canonical, "%s:n=%zu,d=%d,test=%zu", o->name, o->n,
                 o->d, o->test);
    } else {
        NS_TRY(parse_keys(o->name, arg, CLS_KEYS, 8, v));
        o->n = (size_t)v[0];
        o->test = (size_t)v[1];
        o->c = (int)v[2];
        o->h = (int)v[3];
        o->w = (int)v[4];
        o->classes = (int)v[5];
        o->noise = v[6];
        o->pad = (int)v[7];
        size_t per = (size_t)o->c * o->h * o->w;
        NS_CHECK(per <= ((size_t)1 << 24), NS_ERR_ARG, "%s: c*h*w = %zu is too large", o->name,
                 per);
        NS_TRY(check_floats(o->name, o->n > o->test ? o->n : o->test,
                            (size_t)o->c * (o->h + 2 * o->pad) * (o->w + 2 * o->pad)));
        snprintf(o->canonical, sizeof o->canonical,
                 "%s:n=%zu,test=%zu,c=%d,h=%d,w=%d,classes=%d,noise=%.9g", o->name, o->n,
                 o->test, o->c, o->h, o->w, o->classes, o->noise);
        append_pad(o);
    }
    return NS_OK;
}

/* Whether tok looks like an option "word=..." (a lower-case word, then '='):
 * a directory component spelled so cannot be named after a comma. */
static int looks_like_option(const char *tok)
{
    const char *p = tok;
    while ((*p >= 'a' && *p <= 'z') || *p == '_') p++;
    return p > tok && *p == '=';
}

/* Split a file kind's ARG into the directory (dir, "" when ARG is options only)
 * and the trailing comma-separated options, parsed into o->pad. */
static ns_status split_file_arg(ns_data_spec *o, const char *arg, char *dir, size_t dirsz)
{
    NS_CHECK(strlen(arg) < dirsz, NS_ERR_ARG, "%s: argument '%.40s...' is too long", o->name,
             arg);
    strcpy(dir, arg);
    const char *opts = NULL;
    for (;;) { /* peel option tokens off the end */
        char *comma = strrchr(dir, ',');
        char *tok = comma ? comma + 1 : dir;
        if (!looks_like_option(tok)) break;
        opts = arg + (tok - dir);
        if (!comma) {
            dir[0] = '\0';
            break;
        }
        *comma = '\0';
    }
    double v[1];
    NS_TRY(parse_keys(o->name, opts, FILE_KEYS, 1, v));
    o->pad = (int)v[0];
    return NS_OK;
}

ns_status ns_data_spec_parse(const char *spec, ns_data_spec *o)
{
    memset(o, 0, sizeof *o);
    NS_CHECK(spec && *spec, NS_ERR_ARG, "data set spec is empty");
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    static const struct {
        const char *name;
        ns_data_kind kind;
    } names[] = {{"fashion-mnist", NS_DATA_IDX}, {"mnist", NS_DATA_IDX},
                 {"kmnist", NS_DATA_IDX},        {"cifar10", NS_DATA_CIFAR10},
                 {"synthetic-dln", NS_DATA_SYNTH_DLN}, {"synthetic-cls", NS_DATA_SYNTH_CLS}};
    int k = -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strlen(names[i].name) == nlen && strncmp(spec, names[i].name, nlen) == 0) k = i;
    NS_CHECK(k >= 0, NS_ERR_ARG,
             "unknown data set '%.*s' in spec '%s' (known: fashion-mnist[:DIR], mnist:DIR, "
             "kmnist:DIR, cifar10:DIR, synthetic-dln[:n=..,d=..,test=..], "
             "synthetic-cls[:n=..,test=..,c=..,h=..,w=..,classes=..,noise=..])",
             (int)nlen, spec, spec);
    strcpy(o->name, names[k].name);
    o->kind = names[k].kind;
    if (o->kind == NS_DATA_SYNTH_DLN || o->kind == NS_DATA_SYNTH_CLS) return parse_synth(o, arg);

    char dirarg[512] = "";
    if (arg) {
        NS_TRY(split_file_arg(o, arg, dirarg, sizeof dirarg));
        arg = dirarg;
    }
    if (!arg || !*arg) {
        NS_CHECK(strcmp(o->name, "fashion-mnist") == 0, NS_ERR_ARG,
                 "%s needs a directory: %s:DIR (docs/data.md says where to get the files)",
                 o->name, o->name);
        arg = NS_FASHION_MNIST_DEFAULT_DIR;
    }
    ns_status st = resolve_dir(o->name, arg, o->dir);
    if (st != NS_OK && !dirarg[0]) {
        char why[512];
        snprintf(why, sizeof why, "%s", ns_error_msg());
        return ns_error_set(st, "%s (install Debian's dataset-fashion-mnist package, or give "
                                "fashion-mnist:DIR)", why);
    }
    NS_TRY(st);
    if (o->kind == NS_DATA_CIFAR10) cifar_descend(o->dir);
    snprintf(o->canonical, sizeof o->canonical, "%s:%s", o->name, o->dir);
    append_pad(o);
    return NS_OK;
}
