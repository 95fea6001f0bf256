/* schema.c - the results file's dimensions and variables (schema.h): the
 * table, the sweep-wide facts that decide which of them exist, coordinates,
 * and the markdown the docs carry. */
#include "schema.h"

#include "normsweep/net.h"
#include "normsweep/norm.h"
#include "normsweep/probe.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define STR_ARCH NS_RESULTS_ARCH_LEN
#define STR_NORM NS_RESULTS_NORM_LEN
#define STR_SHORT NS_RESULTS_STATUS_LEN
#define STR_NAME NS_RESULTS_NAME_LEN
#define STR_MSG NS_RESULTS_MSG_LEN

#define B(d) NS_DIM_BIT(NS_D_##d)

/* ------------------------------------------------------------ the table */

/* Indexed by ns_dim_id. */
const ns_dim_def ns_schema_dims[NS_D_COUNT] = {
    {"run", NS_H5_I64, NS_COORD_INDEX, 0, "1", "run index", "runs in the sweep"},
    {"step", NS_H5_I64, NS_COORD_LOG_STEP, 0, "1", "training step",
     "logged training steps (every `log_every` steps, and the last)"},
    {"eval", NS_H5_I64, NS_COORD_EVAL_STEP, 0, "1", "updates before evaluation",
     "evaluation points"},
    {"layer", NS_H5_I32, NS_COORD_ONE_BASED, 0, "1", "measured (dense/conv) layer, 1-based",
     "measured layers, max over runs"},
    {"act_layer", NS_H5_I32, NS_COORD_ONE_BASED, 0, "1",
     "hidden layer whose pre-activation is tracked, 1-based",
     "tracked hidden layers, max over runs"},
    {"unit", NS_H5_I32, NS_COORD_NONE, B(ACT_LAYER), "1", "tracked unit slot",
     "tracked units per activation layer"},
    {"probe", NS_H5_I64, NS_COORD_PROBE_STEP, 0, "1", "training step of the probe",
     "probe steps"},
    {"eta", NS_H5_F64, NS_COORD_ETA_REL, B(PROBE), "1", "step size relative to the learning rate",
     "step sizes of the landscape probe"},
    {"quantile", NS_H5_F64, NS_COORD_QUANTILE, B(PROBE) | B(UNIT), "1", "quantile level",
     "activation quantiles"},
    {"weight", NS_H5_I64, NS_COORD_NONE, 0, "1", "flat parameter index",
     "parameters + state, max over runs"},
    {"tensor", NS_H5_I32, NS_COORD_NONE, 0, "1", "weight tensor slot",
     "named tensors, max over runs"},
    {"axis", NS_H5_I32, NS_COORD_NONE, 0, "1", "tensor axis", "4"},
    {"eig", NS_H5_I32, NS_COORD_ONE_BASED, B(PROBE), "1",
     "rank of a top Hessian eigenvalue, 1 = the largest", "`probes.curvature.k`"},
    {"slq_vec", NS_H5_I64, NS_COORD_INDEX, B(PROBE), "1", "SLQ start vector",
     "`probes.curvature.slq.n_v`"},
    {"slq_node", NS_H5_I64, NS_COORD_INDEX, B(PROBE), "1",
     "SLQ quadrature node, by ascending Ritz value", "`probes.curvature.slq.m`"},
    {"save", NS_H5_I64, NS_COORD_SAVE_STEP, 0, "1", "training step of the saved weights",
     "steps of `save_weights.at`"},
};

/* A variable whose values come from field f of source struct T. */
#define FROM(src, kind, T, f) src, kind, offsetof(T, f), #T "." #f, NS_ROLE_DATA
#define SPECIAL(src, what) src, NS_F_SPECIAL, 0, what, NS_ROLE_DATA
#define CFG(kind, f) FROM(NS_SRC_CONFIG, kind, ns_run_config, f)
/* settings that label the runs: always, or when the sweep varies them */
#define CFG_AS(role, kind, f) NS_SRC_CONFIG, kind, offsetof(ns_run_config, f), "ns_run_config." #f, role
#define DIMS(kind, f) FROM(NS_SRC_DIMS, kind, ns_run_dims, f)
#define META(kind, f) FROM(NS_SRC_META, kind, ns_run_meta, f)
#define STEP(f) FROM(NS_SRC_STEP, NS_F_F64, ns_step_rec, f)
#define EVAL(f) FROM(NS_SRC_EVAL, NS_F_F64, ns_eval_rec, f)
#define PROBE(kind, f) FROM(NS_SRC_PROBE, kind, ns_probe_rec, f)
#define END(kind, f) FROM(NS_SRC_END, kind, ns_run_result, f)
#define F64 NS_H5_F64, 0
#define I32 NS_H5_I32, 0
#define I64 NS_H5_I64, 0
#define STR(n) NS_H5_STR, n
#define VSTR NS_H5_VSTR, 0
#define COORD NS_ROLE_COORD
#define AXIS NS_ROLE_AXIS

/* The rows of the exact curvature in mode M (its name suffix), measured in
 * mode index I (ns_mode) when switch NEED holds. */
#define CURV(f) PROBE(NS_F_F64, f)
#define CURV_VARS(M, TEXT, I, NEED)                                                               \
    {"curv_top_eig_" M, F64, "run,probe,eig", "1", "top-k Hessian eigenvalues, Lanczos (" TEXT ")", \
     0, NEED, PROBE(NS_F_F64S, curv[I].top_eig)},                                                 \
    {"curv_top_residual_" M, F64, "run,probe,eig", "1", "||H y - lambda y|| of each top pair", 0,  \
     NEED, PROBE(NS_F_F64S, curv[I].top_residual)},                                               \
    {"curv_top_converged_" M, I32, "run,probe,eig", "1", "1: residual <= tol ||H||_est", 0, NEED, \
     PROBE(NS_F_INTS, curv[I].top_converged)},                                                    \
    {"curv_min_eig_" M, F64, "run,probe", "1", "smallest Hessian eigenvalue, Lanczos (" TEXT ")",  \
     0, NEED, CURV(curv[I].min_eig)},                                                             \
    {"curv_min_residual_" M, F64, "run,probe", "1", "||H y - lambda y|| of the smallest pair", 0,  \
     NEED, CURV(curv[I].min_residual)},                                                           \
    {"curv_min_converged_" M, I32, "run,probe", "1", "1: residual <= tol ||H||_est", 0, NEED,     \
     PROBE(NS_F_INT, curv[I].min_converged)},                                                     \
    {"curv_grad_share_" M, F64, "run,probe", "1", "||P_k g||^2 / ||g||^2, top-k eigenspace", 0,    \
     NEED, CURV(curv[I].grad_share)},                                                             \
    {"curv_lanczos_steps_" M, I32, "run,probe", "1", "Lanczos steps made (top-k, smallest)", 0,   \
     NEED, PROBE(NS_F_INT, curv[I].lanczos_steps)},                                               \
    {"curv_products_" M, I32, "run,probe", "1", "Hessian-vector products of every curvature probe", \
     0, NEED, PROBE(NS_F_INT, curv[I].products)},                                                 \
    {"curv_slq_nodes_" M, F64, "run,probe,slq_vec,slq_node", "1",                                  \
     "SLQ quadrature nodes (Ritz values, ascending)", 0, NEED, PROBE(NS_F_F64S, curv[I].slq_nodes)}, \
    {"curv_slq_weights_" M, F64, "run,probe,slq_vec,slq_node", "1",                                \
     "SLQ quadrature weights (sum 1 per vector)", 0, NEED, PROBE(NS_F_F64S, curv[I].slq_weights)}, \
    {"curv_trace_" M, F64, "run,probe", "1", "Hutchinson estimate of tr(H), exact products", 0,    \
     NEED | NS_NEED_CURV_HUTCH, CURV(curv[I].trace)},                                             \
    {"curv_trace_se_" M, F64, "run,probe", "1", "standard error of curv_trace", 0,                 \
     NEED | NS_NEED_CURV_HUTCH, CURV(curv[I].trace_se)},                                          \
    {"curv_layer_top_eig_" M, F64, "run,probe,layer", "1",                                         \
     "top eigenvalue of the layer's diagonal block of H", 0, NEED | NS_NEED_CURV_LAYERS,          \
     PROBE(NS_F_F64S, curv[I].layer_eig)},                                                        \
    {"curv_layer_residual_" M, F64, "run,probe,layer", "1", "its ||H_ii y - lambda y||", 0,        \
     NEED | NS_NEED_CURV_LAYERS, PROBE(NS_F_F64S, curv[I].layer_residual)},                       \
    {"curv_layer_converged_" M, I32, "run,probe,layer", "1", "1: residual <= tol ||H_ii||_est",   \
     0, NEED | NS_NEED_CURV_LAYERS, PROBE(NS_F_INTS, curv[I].layer_converged)},                   \
    {"curv_fd_rel_diff_" M, F64, "run,probe", "1", "||H u - D_h(u)|| / ||H u||, exact vs FD", 0,   \
     NEED | NS_NEED_CURV_FDCHECK, CURV(curv[I].fd_rel_diff)},                                     \
    {"curv_fd_rel_err_" M, F64, "run,probe", "1", "the FD's own error estimate / ||H u||", 0,      \
     NEED | NS_NEED_CURV_FDCHECK, CURV(curv[I].fd_rel_err)}

const ns_var_def ns_schema_vars[] = {
    /* training and evaluation traces */
    {"train_loss", F64, "run,step", "1", "training loss on the step's batch", 0, 0, STEP(loss)},
    {"train_acc", F64, "run,step", "1", "training accuracy on the step's batch", 0, 0, STEP(acc)},
    {"grad_norm", F64, "run,step", "1", "gradient norm ||grad L(w)||_2", 0, 0, STEP(grad_norm)},
    {"test_loss", F64, "run,eval", "1", "test loss (eval mode)", 0, 0, EVAL(loss)},
    {"test_acc", F64, "run,eval", "1", "test accuracy (eval mode)", 0, 0, EVAL(acc)},

    /* what the probes look at */
    {"layer_name", STR(STR_NAME), "run,layer", "1", "module name of the measured layer", 0, 0,
     META(NS_F_STRS, layer_names)},
    {"act_layer_name", STR(STR_NAME), "run,act_layer", "1", "module whose output is tracked", 0,
     0, META(NS_F_STRS, norm_names)},
    {"act_unit_index", I32, "run,act_layer,unit", "1",
     "channel/feature index of the tracked unit", 0, 0, META(NS_F_INTS, act_units)},

    /* probes */
    {"probe_loss", F64, "run,probe", "1", "L(w) on the step's batch", 0, 0, PROBE(NS_F_F64, loss)},
    {"probe_grad_norm", F64, "run,probe", "1", "||g||_2", 0, 0, PROBE(NS_F_F64, grad_norm)},
    {"probe_s", F64, "run,probe", "s", "wall time of the probes at this step", 0, 0,
     PROBE(NS_F_F64, seconds)},
    {"layer_grad_norm", F64, "run,probe,layer", "1", "||grad_{W_i} L||_2", 0, 0,
     PROBE(NS_F_F64S, layer_grad_norm)},
    {"landscape_loss", F64, "run,probe,eta", "1", "L(w - eta g)", 0, 0,
     PROBE(NS_F_F64S, land_loss)},
    {"landscape_grad_change", F64, "run,probe,eta", "1", "||g - grad L(w - eta g)||_2", 0, 0,
     PROBE(NS_F_F64S, land_grad_change)},
    {"beta_eff", F64, "run,probe", "1", "max_eta ||g - grad L(w - eta g)|| / ||eta g||", B(ETA), 0,
     PROBE(NS_F_F64, beta_eff)},
    {"rand_landscape_loss", F64, "run,probe,eta", "1", "L(w - eta d), ||d|| = ||g||", 0,
     NS_NEED_RANDOM, PROBE(NS_F_F64S, rand_loss)},
    {"rand_landscape_grad_change", F64, "run,probe,eta", "1", "||g - grad L(w - eta d)||_2", 0,
     NS_NEED_RANDOM, PROBE(NS_F_F64S, rand_grad_change)},
    {"rand_beta_eff", F64, "run,probe", "1", "max_eta ||g - grad L(w - eta d)|| / ||eta d||",
     B(ETA), NS_NEED_RANDOM, PROBE(NS_F_F64, rand_beta_eff)},
    {"ics_l2", F64, "run,probe,layer", "1", "||G - G'||_2 (Definition 2.1)", 0, NS_NEED_ICS,
     PROBE(NS_F_F64S, ics_l2)},
    {"ics_cos", F64, "run,probe,layer", "1", "cos(G, G') (Definition 2.1)", 0, NS_NEED_ICS,
     PROBE(NS_F_F64S, ics_cos)},
    {"act_quantiles", F64, "run,probe,act_layer,unit,quantile", "1",
     "quantiles over batch (x space) of the tracked unit's pre-activation", 0, 0,
     PROBE(NS_F_F64S, act_quant)},
    {"act_mean", F64, "run,probe,act_layer,unit", "1", "mean of the tracked unit's pre-activation",
     0, 0, PROBE(NS_F_F64S, act_mean)},
    {"act_std", F64, "run,probe,act_layer,unit", "1",
     "std (ddof 0) of the tracked unit's pre-activation", 0, 0, PROBE(NS_F_F64S, act_std)},
    {"hess_top_eig", F64, "run,probe", "1", "top Hessian eigenvalue (power iteration)", 0,
     NS_NEED_HESS, PROBE(NS_F_F64, hess_lambda)},
    {"hess_residual", F64, "run,probe", "1", "||Hu - lambda u|| / |lambda|", 0, NS_NEED_HESS,
     PROBE(NS_F_F64, hess_residual)},
    {"hess_iters", I32, "run,probe", "1", "power iterations made", 0, NS_NEED_HESS,
     PROBE(NS_F_INT, hess_iters)},
    {"hess_trace", F64, "run,probe", "1", "Hutchinson estimate of tr(H)", 0,
     NS_NEED_HESS | NS_NEED_HTRACE, PROBE(NS_F_F64, hess_trace)},
    {"thm41_lhs", F64, "run,probe,act_layer", "1", "sum_j ||grad_{y_j} L||^2 (Theorem 4.1)", 0,
     NS_NEED_THM41, PROBE(NS_F_F64S, thm41_lhs)},
    {"thm41_rhs", F64, "run,probe,act_layer", "1",
     "sum_j gamma^2/sigma^2 (||g||^2 - <1,g>^2/m - <g,yhat>^2/m)", 0, NS_NEED_THM41,
     PROBE(NS_F_F64S, thm41_rhs)},

    /* exact curvature, one block of rows per mode (docs/measurements.md) */
    CURV_VARS("train", "train mode", 0, NS_NEED_CURV_TRAIN),
    CURV_VARS("eval", "eval mode", 1, NS_NEED_CURV_EVAL),

    /* final weights: flat params then state, with a tensor table in PyTorch's terms */
    {"weights", NS_H5_F32, 0, "run,weight", "1", "final parameters then state (flat)", 0, 0,
     SPECIAL(NS_SRC_WEIGHTS, "the final net: parameters then state")},
    {"saved_weights", NS_H5_F32, 0, "run,save,weight", "1",
     "parameters then state before the update of the save step (flat, as weights)", 0, 0,
     SPECIAL(NS_SRC_SAVE, "the net at each step of `save_weights.at`: parameters then state")},
    {"tensor_name", STR(STR_NAME), "run,tensor", "1", "PyTorch state_dict key", 0, 0,
     SPECIAL(NS_SRC_WEIGHTS, "`ns_tensor_ref.name` of each tensor")},
    {"tensor_offset", I64, "run,tensor", "1", "offset into weights", 0, 0,
     SPECIAL(NS_SRC_WEIGHTS, "`ns_tensor_ref.offset`")},
    {"tensor_shape", I32, "run,tensor,axis", "1", "shape (-1 past ndim)", 0, 0,
     SPECIAL(NS_SRC_WEIGHTS, "`ns_tensor_ref.dims`")},

    /* the run table: settings, then outcome */
    {"lr", F64, "run", "1", "learning rate", 0, 0, CFG_AS(COORD, NS_F_F64, lr)},
    {"arch", VSTR, "run", "1", "architecture", 0, 0, CFG_AS(COORD, NS_F_CHARS, arch)},
    {"norm", VSTR, "run", "1", "normalization", 0, 0, CFG_AS(COORD, NS_F_CHARS, norm)},
    {"init", VSTR, "run", "1", "weight initialisation", 0, 0, CFG_AS(AXIS, NS_F_INIT, init)},
    {"seed", I64, "run", "1", "run seed", 0, 0, CFG_AS(COORD, NS_F_U64, seed)},
    {"batch", I32, "run", "1", "batch size", 0, 0, CFG_AS(AXIS, NS_F_INT, batch)},
    {"optimizer", VSTR, "run", "1", "optimizer (sgd, adam, adamw)", 0, 0,
     CFG_AS(AXIS, NS_F_OPTIM, optimizer)},
    {"momentum", F64, "run", "1", "SGD momentum", 0, 0, CFG_AS(AXIS, NS_F_F64, momentum)},
    {"weight_decay", F64, "run", "1", "weight decay (adamw: decoupled)", 0, 0,
     CFG_AS(AXIS, NS_F_F64, weight_decay)},
    {"adam_beta1", F64, "run", "1", "Adam/AdamW beta1 (unused by sgd)", 0, 0, CFG(NS_F_F64, beta1)},
    {"adam_beta2", F64, "run", "1", "Adam/AdamW beta2 (unused by sgd)", 0, 0, CFG(NS_F_F64, beta2)},
    {"adam_eps", F64, "run", "1", "Adam/AdamW eps (unused by sgd)", 0, 0, CFG(NS_F_F64, eps)},
    {"schedule", VSTR, "run", "1", "learning-rate schedule, e.g. cosine:min_factor=0,warmup=100",
     0, 0, CFG_AS(AXIS, NS_F_LRSCHED, schedule)},
    {"steps", I64, "run", "1", "planned optimizer steps", 0, 0, CFG(NS_F_I64, steps)},
    {"random_sample", I32, "run", "1", "random LR sample index (-1: grid)", 0, 0,
     CFG(NS_F_INT, random_sample)},
    {"status", STR(STR_SHORT), "run", "1", "pending/running/done/diverged/failed/stopped", 0, 0,
     NS_SRC_STATUS, NS_F_SPECIAL, 0, "`pending` at creation, `running` at run start, the "
     "result's status at run end (written last)", COORD},
    {"rank", I32, "run", "1", "MPI rank that last ran it", 0, 0,
     SPECIAL(NS_SRC_STATUS, "the rank running it, at run start and end")},
    {"wall_s", F64, "run", "s", "wall time", 0, 0, END(NS_F_F64, wall_s)},
    {"train_s", F64, "run", "s", "wall time in training steps", 0, 0, END(NS_F_F64, train_s)},
    {"probe_s_total", F64, "run", "s", "wall time in probes", 0, 0, END(NS_F_F64, probe_s)},
    {"eval_s", F64, "run", "s", "wall time in evaluation", 0, 0, END(NS_F_F64, eval_s)},
    {"steps_done", I64, "run", "1", "optimizer steps completed", 0, 0, END(NS_F_I64, steps_done)},
    {"diverged_step", I64, "run", "1", "step whose loss diverged (-1: none)", 0, 0,
     END(NS_F_I64, diverged_step)},
    {"message", STR(STR_MSG), "run", "1", "why a run failed or diverged", 0, 0,
     SPECIAL(NS_SRC_STATUS, "\"\" at run start, the result's message at run end")},
    {"n_layers", I32, "run", "1", "measured layers of this run", 0, 0, DIMS(NS_F_INT, nlayers)},
    {"n_act_layers", I32, "run", "1", "tracked activation layers", 0, 0, DIMS(NS_F_INT, nnorm)},
    {"n_params", I64, "run", "1", "parameters", 0, 0, DIMS(NS_F_SIZE, nparams)},
    {"final_train_loss", F64, "run", "1", "loss of the last step's batch", 0, 0,
     END(NS_F_F64, final_train_loss)},
    {"final_train_acc", F64, "run", "1", "accuracy of the last step's batch", 0, 0,
     END(NS_F_F64, final_train_acc)},
    {"final_test_loss", F64, "run", "1", "last test loss", 0, 0, END(NS_F_F64, final_test_loss)},
    {"final_test_acc", F64, "run", "1", "last test accuracy", 0, 0, END(NS_F_F64, final_test_acc)},
};
const int ns_schema_nvars = (int)(sizeof ns_schema_vars / sizeof ns_schema_vars[0]);

/* ------------------------------------------------------------ lookups */

static int dim_by_name(const char *name, size_t len)
{
    for (int d = 0; d < NS_D_COUNT; d++)
        if (strlen(ns_schema_dims[d].name) == len && strncmp(ns_schema_dims[d].name, name, len) == 0)
            return d;
    return -1;
}

int ns_schema_var_dims(const ns_var_def *v, ns_dim_id out[NS_H5_MAX_DIMS])
{
    int n = 0;
    for (const char *p = v->dims; *p && n < NS_H5_MAX_DIMS;) {
        size_t len = strcspn(p, ",");
        int d = dim_by_name(p, len);
        NS_ASSERT(d >= 0); /* a typo in the table: test_results_schema catches it first */
        out[n++] = (ns_dim_id)d;
        p += len + (p[len] == ',');
    }
    return n;
}

int ns_schema_find(const char *name)
{
    for (int i = 0; i < ns_schema_nvars; i++)
        if (strcmp(ns_schema_vars[i].name, name) == 0) return i;
    return -1;
}

int ns_schema_has_dim(const ns_schema_sweep *sw, ns_dim_id d)
{
    if (sw->size[d] == 0) return 0;
    for (int k = 0; k < NS_D_COUNT; k++)
        if ((ns_schema_dims[d].needs & NS_DIM_BIT(k)) && !ns_schema_has_dim(sw, (ns_dim_id)k))
            return 0;
    return 1;
}

static int probe_switches_hold(const ns_probe_config *p, unsigned need)
{
    return (!(need & NS_NEED_RANDOM) || p->random_direction) && (!(need & NS_NEED_ICS) || p->ics) &&
           (!(need & NS_NEED_HESS) || p->hessian) &&
           (!(need & NS_NEED_HTRACE) || p->hess_trace_samples > 0) &&
           (!(need & NS_NEED_THM41) || p->thm41) &&
           (!(need & NS_NEED_CURV_TRAIN) || ns_curv_in_mode(p, NS_MODE_TRAIN)) &&
           (!(need & NS_NEED_CURV_EVAL) || ns_curv_in_mode(p, NS_MODE_EVAL)) &&
           (!(need & NS_NEED_CURV_HUTCH) || p->curv_hutchinson > 0) &&
           (!(need & NS_NEED_CURV_LAYERS) || p->curv_layers) &&
           (!(need & NS_NEED_CURV_FDCHECK) || p->curv_fd_check);
}

int ns_schema_has_var(const ns_schema_sweep *sw, const ns_var_def *v)
{
    ns_dim_id dims[NS_H5_MAX_DIMS];
    int n = ns_schema_var_dims(v, dims);
    for (int i = 0; i < n; i++)
        if (!ns_schema_has_dim(sw, dims[i])) return 0;
    for (int k = 0; k < NS_D_COUNT; k++)
        if ((v->need_dims & NS_DIM_BIT(k)) && !ns_schema_has_dim(sw, (ns_dim_id)k)) return 0;
    return probe_switches_hold(&sw->settings->probe, v->need_probe);
}

int ns_schema_is_coord(const ns_schema_sweep *sw, const ns_var_def *v)
{
    if (v->role == NS_ROLE_COORD) return 1;
    return v->role == NS_ROLE_AXIS && sw->varies[v - ns_schema_vars];
}

const char *ns_schema_coordinates_of(const ns_schema_sweep *sw, const ns_var_def *v)
{
    if (ns_schema_is_coord(sw, v) || strncmp(v->dims, "run", 3) != 0 || !sw->coordinates[0])
        return NULL;
    return sw->coordinates;
}

void ns_schema_run_extents(const ns_run_dims *d, size_t weights, int tensors,
                           size_t ext[NS_D_COUNT])
{
    ext[NS_D_RUN] = 1;
    ext[NS_D_STEP] = (size_t)d->nlog;
    ext[NS_D_EVAL] = (size_t)d->neval;
    ext[NS_D_LAYER] = (size_t)d->nlayers;
    ext[NS_D_ACT_LAYER] = (size_t)d->nnorm;
    ext[NS_D_UNIT] = (size_t)d->nunits;
    ext[NS_D_PROBE] = (size_t)d->nprobe;
    ext[NS_D_ETA] = (size_t)d->neta;
    ext[NS_D_QUANTILE] = (size_t)d->nquant;
    ext[NS_D_WEIGHT] = weights;
    ext[NS_D_TENSOR] = (size_t)tensors;
    ext[NS_D_AXIS] = 4;
    ext[NS_D_EIG] = (size_t)d->neig;
    ext[NS_D_SLQ_VEC] = (size_t)d->nslq_v;
    ext[NS_D_SLQ_NODE] = (size_t)d->nslq_m;
    ext[NS_D_SAVE] = (size_t)d->nsave;
}

/* ------------------------------------------------------------ values */

/* A string into a NUL-padded cell of n bytes, or as a pointer (VSTR). */
static ns_status put_str(const ns_var_def *v, const char *text, char *cell)
{
    if (v->type == NS_H5_VSTR) {
        memcpy(cell, &text, sizeof text);
        return NS_OK;
    }
    size_t len = strlen(text), n = (size_t)v->str_len;
    NS_CHECK(len <= n, NS_ERR_ARG, "results: '%.60s...' (%zu bytes) does not fit a %zu-byte "
             "cell of '%s'", text, len, n, v->name);
    memset(cell, 0, n);
    memcpy(cell, text, len);
    return NS_OK;
}

/* A schedule's text that outlives the call: a variable-length string cell
 * holds a pointer (put_str), and the other string cells point into the spec.
 * Texts are kept once each, for the process (a sweep has at most 256 distinct
 * schedules, NS_SPEC_MAX_AXIS). */
enum { SCHEDULE_TEXTS = 1024 };
static ns_status schedule_text(const ns_lr_schedule *sc, const char **out)
{
    static char texts[SCHEDULE_TEXTS][NS_RESULTS_MSG_LEN];
    static int ntexts;
    char t[NS_RESULTS_MSG_LEN];
    ns_lr_schedule_text(sc, t, sizeof t);
    int i = 0;
    while (i < ntexts && strcmp(texts[i], t) != 0) i++;
    NS_CHECK(i < SCHEDULE_TEXTS, NS_ERR_INTERNAL,
             "results: more than %d distinct learning-rate schedules in one process", SCHEDULE_TEXTS);
    if (i == ntexts) memcpy(texts[ntexts++], t, sizeof t);
    *out = texts[i];
    return NS_OK;
}

ns_status ns_schema_encode(const ns_var_def *v, const void *src, void *cell)
{
    const char *p = (const char *)src + v->off;
    int32_t i32;
    int64_t i64;
    switch (v->field) {
    case NS_F_F64: memcpy(cell, p, sizeof(double)); return NS_OK;
    case NS_F_INT: i32 = *(const int *)(const void *)p; memcpy(cell, &i32, sizeof i32); return NS_OK;
    case NS_F_I64: memcpy(cell, p, sizeof(int64_t)); return NS_OK;
    case NS_F_U64: i64 = (int64_t)*(const uint64_t *)(const void *)p; break;
    case NS_F_SIZE: i64 = (int64_t)*(const size_t *)(const void *)p; break;
    case NS_F_CHARS: return put_str(v, p, cell);
    case NS_F_INIT:
        return put_str(v, *(const int *)(const void *)p == NS_INIT_HE ? "he" : "glorot", cell);
    case NS_F_OPTIM: return put_str(v, ns_optim_name(*(const ns_optim_kind *)(const void *)p), cell);
    case NS_F_LRSCHED: {
        const char *text;
        NS_TRY(schedule_text((const ns_lr_schedule *)(const void *)p, &text));
        return put_str(v, text, cell);
    }
    default:
        return ns_error_set(NS_ERR_INTERNAL, "results: '%s' is not a scalar field", v->name);
    }
    memcpy(cell, &i64, sizeof i64);
    return NS_OK;
}

/* ------------------------------------------------------------ docs */

const char *ns_schema_type_text(ns_h5_type t, int str_len, char *buf, size_t n)
{
    switch (t) {
    case NS_H5_F32: return "f32";
    case NS_H5_F64: return "f64";
    case NS_H5_I32: return "i32";
    case NS_H5_I64: return "i64";
    case NS_H5_STR: snprintf(buf, n, "string[%d]", str_len); return buf;
    case NS_H5_VSTR: return "string";
    }
    return "?";
}

static const char *src_text(ns_src s)
{
    switch (s) {
    case NS_SRC_CONFIG: return "creation (rank 0)";
    case NS_SRC_STATUS: return "creation, run start, run end";
    case NS_SRC_DIMS: return "run start";
    case NS_SRC_META: return "run start";
    case NS_SRC_STEP: return "logged step (buffered to the next sync)";
    case NS_SRC_EVAL: return "evaluation (buffered to the next sync)";
    case NS_SRC_PROBE: return "probe step";
    case NS_SRC_WEIGHTS: return "run end";
    case NS_SRC_SAVE: return "save step (again after a resume: the same bits)";
    case NS_SRC_END: return "run end";
    }
    return "?";
}

static const char *coord_text(ns_coord_kind k)
{
    switch (k) {
    case NS_COORD_NONE: return "(none)";
    case NS_COORD_INDEX: return "0..n-1";
    case NS_COORD_ONE_BASED: return "1..n (the paper's \"layer #k\")";
    case NS_COORD_LOG_STEP: return "step number";
    case NS_COORD_EVAL_STEP: return "updates before the evaluation";
    case NS_COORD_PROBE_STEP: return "step number (the probe schedule)";
    case NS_COORD_ETA_REL: return "eta / lr";
    case NS_COORD_QUANTILE: return "q in (0, 1)";
    case NS_COORD_SAVE_STEP: return "step number (`save_weights.at`)";
    }
    return "?";
}

/* "`eta` dim, `random_direction`" - what a variable (or dim) needs besides its dims. */
static void needs_text(unsigned need_dims, unsigned need_probe, const char *dim_suffix, char *buf,
                       size_t n)
{
    static const struct { unsigned bit; const char *text; } sw[] = {
        {NS_NEED_RANDOM, "`random_direction`"}, {NS_NEED_ICS, "`ics`"},
        {NS_NEED_HESS, "`hessian`"},            {NS_NEED_HTRACE, "`trace_samples` > 0"},
        {NS_NEED_THM41, "`thm41`"},
        {NS_NEED_CURV_TRAIN, "`curvature` in train mode"},
        {NS_NEED_CURV_EVAL, "`curvature` in eval mode"},
        {NS_NEED_CURV_HUTCH, "`curvature.hutchinson` > 0"},
        {NS_NEED_CURV_LAYERS, "`curvature.layers`"},
        {NS_NEED_CURV_FDCHECK, "`curvature.fd_check`"},
    };
    size_t k = 0;
    buf[0] = '\0';
    for (int d = 0; d < NS_D_COUNT; d++)
        if (need_dims & NS_DIM_BIT(d))
            k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s`%s`%s", k ? ", " : "",
                                  ns_schema_dims[d].name, dim_suffix);
    for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++)
        if (need_probe & sw[i].bit)
            k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", k ? ", " : "", sw[i].text);
    if (!buf[0]) snprintf(buf, n, "-");
}

/* A table cell: '|' would end the cell, so it is escaped. */
static void cell(FILE *f, const char *text)
{
    fputs(" ", f);
    for (const char *p = text; *p; p++) {
        if (*p == '|') fputc('\\', f);
        fputc(*p, f);
    }
    fputs(" |", f);
}

void ns_schema_markdown(FILE *f)
{
    char t[32], need[240];
    fprintf(f, "| dim | size | coordinate | units | long_name | exists when |\n"
               "|---|---|---|---|---|---|\n");
    for (int d = 0; d < NS_D_COUNT; d++) {
        const ns_dim_def *D = &ns_schema_dims[d];
        char when[280];
        needs_text(D->needs, 0, "", need, sizeof need);
        snprintf(when, sizeof when, "size > 0%s%s", D->needs ? "; needs " : "", D->needs ? need : "");
        fprintf(f, "| `%s` |", D->name);
        cell(f, D->size_doc);
        cell(f, coord_text(D->coord));
        cell(f, D->units ? D->units : "-");
        cell(f, D->long_name);
        cell(f, when);
        fputc('\n', f);
    }
    fprintf(f, "\n| variable | type | dims | units | long_name | also needs | written at | from |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        char from[200];
        needs_text(v->need_dims, v->need_probe, " dim", need, sizeof need);
        snprintf(from, sizeof from, v->field == NS_F_SPECIAL ? "%s" : "`%s`", v->from);
        fprintf(f, "| `%s` |", v->name);
        cell(f, ns_schema_type_text(v->type, v->str_len, t, sizeof t));
        cell(f, v->dims);
        cell(f, v->units ? v->units : "-");
        cell(f, v->long_name);
        cell(f, need);
        cell(f, src_text(v->src));
        cell(f, from);
        fputc('\n', f);
    }
}
