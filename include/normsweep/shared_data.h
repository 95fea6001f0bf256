/* shared_data.h - one read-only copy of the data set per node, shared by the
 * node's ranks through MPI-3 shared memory (src/coord/shared_data.c).
 *
 * The data layer knows no MPI; this is the MPI-aware part: the ranks of a node
 * (MPI_Comm_split_type SHARED) allocate one MPI_Win_allocate_shared window,
 * the node's first rank loads and checks the data set once and packs it there
 * (ns_dataset_pack), and every rank of the node puts a view of it
 * (ns_dataset_view) in its data-set cache. Batches and results are bitwise the
 * same as with a private copy per rank.
 */
#ifndef NORMSWEEP_SHARED_DATA_H
#define NORMSWEEP_SHARED_DATA_H

#include "normsweep/data.h"

#include <mpi.h>

typedef struct ns_shared_data_info {
    int shared;      /* 1: a node-shared copy; 0: this rank loaded its own   */
    int node_rank;   /* rank within the node (0 loaded the data set)          */
    int node_size;   /* ranks on this node                                    */
    int nodes;       /* nodes of comm (same on every rank)                    */
    size_t bytes;    /* size of the shared buffer (0 when not shared)         */
    char fallback[160]; /* why not shared, when shared == 0 ("" when asked)   */
} ns_shared_data_info;

/* Collective over comm. Loads (spec, data_seed) once per node and makes *out a
 * read-only view of the node's copy, cached like ns_dataset_cache_get. With
 * want_shared == 0, or when the node's MPI cannot allocate a shared window,
 * every rank loads its own copy (info->fallback says why). On a load error
 * every rank of the node returns it; the loading rank's message names the file.
 * Release with ns_shared_data_release (collective) after ns_dataset_cache_clear. */
ns_status ns_shared_dataset_get(MPI_Comm comm, const char *spec, uint64_t data_seed,
                                int want_shared, const ns_dataset **out,
                                ns_shared_data_info *info);
/* Free the windows (collective over the comm they were made on). */
void ns_shared_data_release(void);

#endif
