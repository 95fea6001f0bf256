/* schedule.c - which training steps are probe steps. The count is known up
 * front so the output file can be laid out with fixed shapes. */
#include "normsweep/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ns_status ns_schedule_every(ns_schedule *s, long steps, long every)
{
    NS_CHECK(steps >= 1 && every >= 1, NS_ERR_ARG,
             "schedule: every = %ld over %ld steps (both must be >= 1)", every, steps);
    long count = (steps + every - 1) / every;
    NS_CHECK(count <= 0x7fffffff, NS_ERR_ARG, "schedule: %ld probe steps is too many", count);
    *s = (ns_schedule){.kind = NS_SCHEDULE_EVERY, .steps = steps, .every = every,
                       .count = (int)count};
    return NS_OK;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

ns_status ns_schedule_list(ns_schedule *s, long steps, const long *list, int n)
{
    NS_CHECK(steps >= 1 && n >= 1 && list, NS_ERR_ARG,
             "schedule: a list needs >= 1 step and steps >= 1 (got n = %d, steps = %ld)", n,
             steps);
    for (int i = 0; i < n; i++)
        NS_CHECK(list[i] >= 0 && list[i] < steps, NS_ERR_ARG,
                 "schedule: list[%d] = %ld outside [0, %ld)", i, list[i], steps);
    long *v = malloc((size_t)n * sizeof *v);
    NS_CHECK(v, NS_ERR_NOMEM, "schedule: cannot allocate %d steps", n);
    memcpy(v, list, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_long);
    for (int i = 1; i < n; i++)
        if (v[i] == v[i - 1]) {
            long dup = v[i];
            free(v);
            return ns_error_set(NS_ERR_ARG, "schedule: step %ld listed twice", dup);
        }
    *s = (ns_schedule){.kind = NS_SCHEDULE_LIST, .steps = steps, .count = n, .list = v};
    return NS_OK;
}

ns_status ns_schedule_log(ns_schedule *s, long steps, int count)
{
    NS_CHECK(count >= 1 && steps >= count, NS_ERR_ARG,
             "schedule: %d log-spaced probe steps need 1 <= count <= steps (steps = %ld)", count,
             steps);
    long *v = malloc((size_t)count * sizeof *v);
    NS_CHECK(v, NS_ERR_NOMEM, "schedule: cannot allocate %d steps", count);
    v[0] = 0;
    for (int i = 1; i < count; i++) {
        /* geometric on [1, steps], shifted to [0, steps-1] */
        long t = lround(exp(log((double)steps) * i / (count - 1))) - 1;
        long room = steps - 1 - (count - 1 - i); /* leave one step per later probe */
        if (t <= v[i - 1]) t = v[i - 1] + 1;
        if (t > room) t = room;
        v[i] = t;
    }
    *s = (ns_schedule){.kind = NS_SCHEDULE_LOG, .steps = steps, .count = count, .list = v};
    return NS_OK;
}

void ns_schedule_free(ns_schedule *s)
{
    if (!s) return;
    free(s->list);
    *s = (ns_schedule){0};
}

int ns_schedule_index(const ns_schedule *s, long t)
{
    if (t < 0 || t >= s->steps) return -1;
    if (s->kind == NS_SCHEDULE_EVERY) return t % s->every == 0 ? (int)(t / s->every) : -1;
    int lo = 0, hi = s->count - 1; /* binary search in the ascending list */
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->list[mid] == t) return mid;
        if (s->list[mid] < t) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

long ns_schedule_step(const ns_schedule *s, int i)
{
    NS_ASSERT(i >= 0 && i < s->count);
    return s->kind == NS_SCHEDULE_EVERY ? (long)i * s->every : s->list[i];
}
