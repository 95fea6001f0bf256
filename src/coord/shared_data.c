/* shared_data.c - one copy of the data set per node in MPI-3 shared memory.
 *
 *   ranks of a node  = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED)
 *   node rank 0      : ns_dataset_load (every check of the data layer), then
 *                      tells the node the status and the packed size
 *   all ranks        : MPI_Win_allocate_shared (the whole buffer on rank 0)
 *   node rank 0      : ns_dataset_pack into it, frees its private copy
 *   all ranks        : MPI_Win_fence, then a view of rank 0's buffer in the
 *                      data-set cache (ns_dataset_cache_adopt)
 *
 * The other ranks wait for the load with MPI_Ibcast + MPI_Test + nanosleep,
 * never in a blocking call: Open MPI's blocking calls busy-poll a core, and the
 * loading rank needs it. A node whose MPI cannot make the window falls back to
 * one private copy per rank, with the reason in info->fallback. The room for
 * the window is checked first: Open MPI's osc/sm puts it in a file under
 * osc_sm_backing_directory (/dev/shm), and when that cannot be made it fails
 * on one rank and leaves the others waiting inside MPI_Win_allocate_shared
 * (Open MPI 4.1, measured) - containers often have a 64 MB /dev/shm. */
#include "normsweep/mpi_check.h"
#include "normsweep/shared_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

typedef struct shared_window {
    MPI_Win win;
    MPI_Comm node;
    struct shared_window *next;
} shared_window;

static shared_window *windows; /* freed by ns_shared_data_release */

static ns_status private_copy(const char *spec, uint64_t seed, const ns_dataset **out,
                              ns_shared_data_info *info, const char *why)
{
    info->shared = 0;
    info->bytes = 0;
    snprintf(info->fallback, sizeof info->fallback, "%.159s", why);
    return ns_dataset_cache_get(spec, seed, out);
}

/* Is there room for the window where Open MPI will put it? */
static int backing_has_room(unsigned long long bytes, char *why, size_t n)
{
    const char *dir = getenv("OMPI_MCA_osc_sm_backing_directory"); /* mpirun --mca sets it */
    if (!dir || !*dir) dir = "/dev/shm";
    struct statvfs v;
    if (statvfs(dir, &v) != 0) {
        snprintf(why, n, "%s (shared-memory backing directory): %s", dir, strerror(errno));
        return 0;
    }
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    if (avail < bytes + bytes / 16 + (4u << 20)) {
        snprintf(why, n, "%s has %.0f MB free, one shared copy needs %.0f MB", dir, avail / 1e6,
                 bytes / 1e6);
        return 0;
    }
    return 1;
}

/* Node rank 0 loads; the node learns {status, packed bytes, room for the window}. */
static ns_status load_on_leader(MPI_Comm node, int leader, const char *spec, uint64_t seed,
                                ns_dataset **priv, unsigned long long hdr[3], char *why, size_t n)
{
    ns_status st = NS_OK;
    hdr[0] = hdr[1] = hdr[2] = 0;
    if (leader) {
        st = ns_dataset_load(spec, seed, priv);
        hdr[0] = (unsigned long long)st;
        hdr[1] = st == NS_OK ? (unsigned long long)ns_dataset_pack_size(*priv) : 0;
        hdr[2] = st == NS_OK && backing_has_room(hdr[1], why, n);
    }
    MPI_Request req;
    if (MPI_Ibcast(hdr, 3, MPI_UNSIGNED_LONG_LONG, 0, node, &req) != MPI_SUCCESS ||
        ns_mpi_wait_idle(&req) != MPI_SUCCESS)
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Ibcast of the load status failed", spec);
    if (leader) return st;
    if (hdr[0] != NS_OK)
        return ns_error_set((ns_status)hdr[0], "%s: not loaded: the node's first rank failed to "
                                               "load it (its message names the cause)", spec);
    return NS_OK;
}

/* No window after all: the node's first rank keeps the copy it loaded, the
 * others load their own. */
static ns_status keep_private(MPI_Comm node, int leader, const char *spec, uint64_t seed,
                              ns_dataset *priv, const ns_dataset **out, ns_shared_data_info *info,
                              const char *why)
{
    MPI_Comm_free(&node);
    if (leader) {
        ns_status st = ns_dataset_cache_adopt(spec, seed, priv);
        if (st != NS_OK) {
            ns_dataset_free(priv);
            return st;
        }
    }
    return private_copy(spec, seed, out, info, why);
}

/* The window with the packed data set; views adopted into the cache. */
static ns_status share(int leader, const char *spec, uint64_t seed, ns_dataset *priv,
                       size_t bytes, MPI_Win win, void *base)
{
    if (leader) {
        ns_dataset_pack(priv, base);
        ns_dataset_free(priv);
#ifdef __GLIBC__
        malloc_trim(0); /* parts of the private copy may sit in the heap, resident */
#endif
    }
    if (MPI_Win_fence(0, win) != MPI_SUCCESS)
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Win_fence on the shared data failed", spec);
    MPI_Aint size = 0;
    int disp = 0;
    void *ptr = NULL;
    if (MPI_Win_shared_query(win, 0, &size, &disp, &ptr) != MPI_SUCCESS || (size_t)size != bytes)
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Win_shared_query of the shared data failed", spec);
    ns_dataset *view = NULL;
    NS_TRY(ns_dataset_view(ptr, bytes, &view));
    ns_status st = ns_dataset_cache_adopt(spec, seed, view);
    if (st != NS_OK) ns_dataset_free(view);
    return st;
}

ns_status ns_shared_dataset_get(MPI_Comm comm, const char *spec, uint64_t data_seed,
                                int want_shared, const ns_dataset **out,
                                ns_shared_data_info *info)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    int rank = 0;
    MPI_Comm node;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Comm_split_type(SHARED) failed", spec);
    MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN); /* a failed window falls back */
    MPI_Comm_rank(node, &info->node_rank);
    MPI_Comm_size(node, &info->node_size);
    int leader = info->node_rank == 0;
    if (MPI_Allreduce(&leader, &info->nodes, 1, MPI_INT, MPI_SUM, comm) != MPI_SUCCESS) {
        MPI_Comm_free(&node);
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Allreduce counting the nodes failed", spec);
    }
    if (!want_shared || info->node_size == 1) {
        MPI_Comm_free(&node);
        return private_copy(spec, data_seed, out, info,
                            want_shared ? "the only rank on its node" : "one copy per rank was asked for");
    }
    ns_dataset *priv = NULL;
    unsigned long long hdr[3];
    char why[160] = "no room for the shared window on the node's first rank";
    ns_status st = load_on_leader(node, leader, spec, data_seed, &priv, hdr, why, sizeof why);
    if (st != NS_OK) {
        MPI_Comm_free(&node);
        return st;
    }
    if (!hdr[2]) /* no room where the window would go: every rank its own copy */
        return keep_private(node, leader, spec, data_seed, priv, out, info, why);
    MPI_Win win;
    void *base = NULL;
    int rc = MPI_Win_allocate_shared(leader ? (MPI_Aint)hdr[1] : 0, 1, MPI_INFO_NULL, node, &base, &win);
    int ok = rc == MPI_SUCCESS, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, node);
    if (!all_ok) {
        char err[MPI_MAX_ERROR_STRING] = "another rank of the node failed";
        int len = 0;
        if (!ok) MPI_Error_string(rc, err, &len);
        if (ok) MPI_Win_free(&win);
        snprintf(why, sizeof why, "MPI_Win_allocate_shared of %llu bytes: %.100s", hdr[1], err);
        return keep_private(node, leader, spec, data_seed, priv, out, info, why);
    }
    st = share(leader, spec, data_seed, priv, (size_t)hdr[1], win, base);
    shared_window *w = malloc(sizeof *w);
    if (!w) { /* tiny; cannot happen in practice, and then the window stays until exit */
        if (st == NS_OK) st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory", spec);
    } else {
        *w = (shared_window){win, node, windows};
        windows = w;
    }
    if (st != NS_OK) return st;
    info->shared = 1;
    info->bytes = (size_t)hdr[1];
    return ns_dataset_cache_get(spec, data_seed, out); /* the adopted view */
}

void ns_shared_data_release(void)
{
    while (windows) {
        shared_window *w = windows;
        windows = w->next;
        MPI_Win_free(&w->win);
        MPI_Comm_free(&w->node);
        free(w);
    }
}
