/* fuzz_spec.c - the sweep-file parser (ns_spec_parse: YAML, validation,
 * expansion) on arbitrary bytes. Any input must give NS_OK with a spec whose
 * canonical form exists, or an error status with a message and the error list;
 * never a crash, a leak or undefined behaviour (ASan/UBSan), nor a hang
 * (libFuzzer's -timeout). Corpus: tests/fuzz/spec/ (docs/testing.md). */
#include "normsweep/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0; /* the parser's own size limits are tested elsewhere */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the text early: the parser sees a prefix */
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, "fuzz.yaml", &s, &errors);
    if (st == NS_OK) {
        if (!s || errors) abort(); /* success leaves a spec and no error list */
        char *canon = ns_spec_canonical(s);
        if (!canon) abort();
        free(canon);
    } else if (s || !ns_error_msg()[0]) {
        abort(); /* failure leaves no spec and a message */
    }
    ns_spec_free(s);
    free(errors);
    free(text);
    return 0;
}
