/* run_internal.h - the pieces of run.c in their own files: the probe glue
 * (run_probe.c) and checkpoints (run_checkpoint.c). Not a public header. */
#ifndef NS_RUN_INTERNAL_H
#define NS_RUN_INTERNAL_H

#include "normsweep/curvature.h"
#include "normsweep/net.h"
#include "normsweep/probe.h"
#include "normsweep/run.h"

/* The probe schedule of a config (schedule.c). */
ns_status ns_run_schedule(const ns_run_config *cfg, ns_schedule *s);

/* The objective the probes see: the net on the step's batch, with the
 * contract of probe.h (w evaluated in place in net->params, TRAIN mode without
 * statistics update or noise redraw). The net's own parameters are NOT
 * restored after each evaluation: the caller puts them back once per probe
 * (ns_run_probe_restore). */
typedef struct ns_run_glue {
    ns_net *net;
    const float *x, *t;
    const int32_t *y;
    int batch;
    ns_pass pass;
    long evals; /* loss+grad evaluations made (probe cost) */
} ns_run_glue;

/* The probe state's arrays: ONE table of (type, name, length). run_probe.c
 * lays them out, in this order, in a single allocation (ns_run_probe.block)
 * and frees them with one free(); adding an array is adding a row. Lengths
 * are in terms of ns_run_probe_sizes `z` (run_probe.c). */
#define NS_RUN_PROBE_ARRAYS(X)                                                                     \
    X(size_t, layer_off, z.L)          /* measured layer i: offset of its weight slice      */     \
    X(size_t, layer_len, z.L)          /*   its length                                      */     \
    X(size_t, prefix_end, z.L)         /*   end of all parameters before it                 */     \
    X(const char *, layer_names, z.L)  /*   its name (points into the net)                  */     \
    X(const char *, act_names, z.M)    /* tracked activation j: its layer's name (the net)  */     \
    X(int, act_layer, z.M)             /*   net layer index                                 */     \
    X(int, act_units, z.M * z.U)       /*   tracked units                                   */     \
    X(int, ics_sel, z.L)               /* 0-based measured layers ICS looks at (nics used)  */     \
    X(float, wsave, z.n)               /* w_t                                               */     \
    X(float, gsave, z.n)               /* g = grad L(w_t), the step's gradient              */     \
    X(float, wnext, z.n)               /* w_{t+1}                                           */     \
    X(float, hess_gx, z.n)             /* the Hessian's own gradient (it holds two at once) */     \
    X(float, ws_gy, z.n)               /* probe workspace: second gradient / direction      */     \
    X(float, ws_v, z.n)                /* probe workspace: power-iteration vector           */     \
    X(float, scratch, z.max_sample)    /* activation quantile selection                     */     \
    X(double, quantiles, z.Q)                                                                      \
    /* one probe record's arrays */                                                                \
    X(double, layer_gnorm, z.L)                                                                    \
    X(double, eta, z.E)                                                                            \
    X(double, land_loss, z.E)                                                                      \
    X(double, land_dg, z.E)                                                                        \
    X(double, rand_loss, z.E)                                                                      \
    X(double, rand_dg, z.E)                                                                        \
    X(double, ics_l2, z.L)                                                                         \
    X(double, ics_cos, z.L)                                                                        \
    X(double, ics_tmp_l2, z.L)                                                                     \
    X(double, ics_tmp_cos, z.L)                                                                    \
    X(double, act_quant, z.M * z.U * z.Q)                                                          \
    X(double, act_mean, z.M * z.U)                                                                 \
    X(double, act_std, z.M * z.U)                                                                  \
    X(double, thm_lhs, z.M)                                                                        \
    X(double, thm_rhs, z.M)                                                                        \
    X(double, unit_lhs, z.max_units)   /* Theorem 4.1 per unit of one layer                 */     \
    X(double, unit_rhs, z.max_units)                                                               \
    /* exact curvature (run_curv.c; all empty when it is off) */                                   \
    X(char, lanczos_mem, z.lanczos)    /* the Lanczos workspace (ns_lanczos_ws_place)       */     \
    X(float, curv_u, z.cn)             /* Hutchinson z / the FD check's displacement u      */     \
    X(float, curv_hu, z.cn)            /*   A z / the FD product D_h(u)                     */     \
    X(float, curv_hx, z.cn)            /*   the exact H u of the FD check                   */     \
    X(float, curv_scratch, z.cn)       /*   the FD error estimate's second product          */     \
    /* the curvature records, [ns_mode][...] */                                                    \
    X(double, curv_top, 2 * z.K)                                                                   \
    X(double, curv_top_res, 2 * z.K)                                                               \
    X(int, curv_top_conv, 2 * z.K)                                                                 \
    X(double, slq_nodes, 2 * z.V * z.SM)                                                           \
    X(double, slq_weights, 2 * z.V * z.SM)                                                         \
    X(double, curv_layer, 2 * z.CL)                                                                \
    X(double, curv_layer_res, 2 * z.CL)                                                            \
    X(int, curv_layer_conv, 2 * z.CL)

/* A run's probe state.
 *
 * Ownership, in one place:
 *  - `block` is the only memory the state owns: every array of the table
 *    above points into it (ns_run_probe_init allocates it, ns_run_probe_free
 *    frees it).
 *  - The state is bound to ONE net by ns_run_probe_init (ns_run_probe_bind in
 *    run_probe.c). It borrows, never frees, the net's params and grads (the
 *    workspace views below) and its layer names (layer_names, act_names); the
 *    net must outlive the state.
 *  - The two workspaces are views (ns_probe_ws_over), not allocations:
 *      ws_in_place: wx = net->params, gx = net->grads, gy = ws_gy, v = ws_v.
 *        For the landscape and ICS, which hold one gradient at a time: probe
 *        points are written straight into the net's parameters and each
 *        evaluation's gradient is read where backward left it (no copies).
 *      ws_hessian:  wx = net->params, gx = hess_gx, gy = ws_gy, v = ws_v.
 *        The Hessian-vector product keeps two gradients at once.
 *    Both leave net->params at a probe point and net->grads overwritten; w_t
 *    is in wsave and g in gsave, and ns_run_probe_restore puts parameters
 *    back once per probe. */
typedef struct ns_run_probe {
    const ns_run_config *cfg;
    const ns_run_dims *dims;
    ns_net *net;
    ns_run_glue glue;
    ns_objective obj;
    ns_probe_ws ws_in_place, ws_hessian;
    ns_lanczos_ws lanczos;     /* placed in lanczos_mem                          */
    struct ns_hvp *hvp;        /* the exact HVP engine's buffers (its own; NULL
                                  unless the curvature probes need exact products) */
    void *block;
    int nics; /* entries of ics_sel in use */
#define NS_RUN_PROBE_FIELD(type, name, len) type *name;
    NS_RUN_PROBE_ARRAYS(NS_RUN_PROBE_FIELD)
#undef NS_RUN_PROBE_FIELD
} ns_run_probe;

ns_status ns_run_probe_init(ns_run_probe *p, const ns_run_config *cfg, const ns_run_dims *dims,
                            ns_net *net);
/* The exact curvature of probe step `step` at w_t = p->wsave (run_curv.c):
 * fills rec->curv[] for every mode the config asks (the others NaN), leaves
 * net->params at a probe point and net->grads overwritten, like the other
 * probes. curv_init makes its engine (after the table is laid out),
 * curv_free releases it. */
ns_status ns_run_curv_init(ns_run_probe *p);
void ns_run_curv_free(ns_run_probe *p);
ns_status ns_run_probe_curvature(ns_run_probe *p, int64_t step, ns_probe_rec *rec);
void ns_run_probe_free(ns_run_probe *p);
/* Install / remove the backward hook that evaluates Theorem 4.1 per BN layer
 * during the training step's own backward pass. */
void ns_run_probe_attach(ns_run_probe *p);
void ns_run_probe_detach(ns_run_probe *p);
/* All probes of step t, then the step's optimizer update t (ICS needs
 * w_{t+1}): on return net->params and the optimizer's state are exactly what
 * a step without probes would have produced. The landscape's step sizes are
 * relative to the optimizer's learning rate of step t. Hands one record to
 * the sink. */
ns_status ns_run_probe_step(ns_run_probe *p, ns_net *net, ns_optim *opt,
                            const float *x, const int32_t *y, const float *t, int batch,
                            int64_t step, int pidx, double loss, double gnorm,
                            const ns_run_sink *sink);

/* The parts of ns_run_probe_step, for `normsweep bench --probe` to time one
 * probe exactly as a run makes it. begin: save w_t = net->params and
 * g = net->grads (the step's forward/backward just ran) and point the glue at
 * the batch. landscape: the landscape probe at w_t along g (fills p->eta,
 * land_*, rand_*); it leaves net->params at the last probe point (the
 * workspace IS net->params) and net->grads overwritten: restore(p, p->wsave)
 * puts w_t back. */
void ns_run_probe_begin(ns_run_probe *p, ns_net *net, const float *x, const int32_t *y,
                        const float *t, int batch);
ns_status ns_run_probe_landscape(ns_run_probe *p, double lr, int64_t step, double *beta_eff,
                                 double *rand_beta_eff);
void ns_run_probe_restore(ns_run_probe *p, const float *w);

/* Checkpoints (run_checkpoint.c): parameters, the optimizer's state (SGD's
 * momentum, Adam's moments), the net's state (running statistics), the noise
 * stream position, the next step and the result accumulators. load leaves
 * *t0 = 0 when there is no checkpoint; a checkpoint of a different run or
 * config is NS_ERR_FORMAT. */
ns_status ns_run_checkpoint_save(const char *path, const ns_run_config *cfg, const ns_net *net,
                                 const ns_optim *opt, int64_t next_step,
                                 const ns_run_result *res);
ns_status ns_run_checkpoint_load(const char *path, const ns_run_config *cfg, ns_net *net,
                                 ns_optim *opt, int64_t *t0, ns_run_result *res);
void ns_run_checkpoint_remove(const char *path);

#endif
