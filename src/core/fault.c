/* fault.c - see fault.h. */
#include "normsweep/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ns_fault(const char *point, int rank)
{
    const char *list = getenv("NORMSWEEP_FAULT");
    size_t n = strlen(point);
    for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',') {
        size_t len = strcspn(p, ",");
        if (len < n || strncmp(p, point, n) != 0) continue;
        if (len == n) return 1; /* every rank */
        int at = -1, used = 0;
        char tail[16] = "";
        if (p[n] == '@' && len - n < sizeof tail) {
            memcpy(tail, p + n, len - n);
            if (sscanf(tail, "@%d%n", &at, &used) == 1 && (size_t)used == len - n && at == rank)
                return 1;
        }
    }
    return 0;
}
