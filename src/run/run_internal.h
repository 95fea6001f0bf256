/* run_internal.h - the pieces of run.c in their own files: the probe glue
 * (run_probe.c) and checkpoints (run_checkpoint.c). Not a public header. */
#ifndef NS_RUN_INTERNAL_H
#define NS_RUN_INTERNAL_H

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

typedef struct ns_run_probe {
    const ns_run_config *cfg;
    const ns_run_dims *dims;
    ns_net *net;
    ns_run_glue glue;
    ns_objective obj;
    ns_probe_ws ws;
    size_t *layer_off, *layer_len, *prefix_end; /* [nlayers]               */
    const char **layer_names;                   /* [nlayers], names in the net */
    const char **act_names;                     /* [nnorm], names in the net   */
    int *act_layer;                             /* [nnorm] net layer index */
    int *act_units;                             /* [nnorm * nunits]        */
    int *ics_sel, nics;                         /* 0-based measured layers */
    float *wsave, *gsave, *wnext;               /* [nparams] each: w_t, g, w_{t+1} */
    float *scratch;                             /* activation sorting      */
    double *quantiles;                          /* [nquant]                */
    /* one record's arrays */
    double *layer_gnorm, *eta, *land_loss, *land_dg, *rand_loss, *rand_dg;
    double *ics_l2, *ics_cos, *ics_tmp_l2, *ics_tmp_cos, *act_quant, *act_mean, *act_std;
    double *thm_lhs, *thm_rhs, *unit_lhs, *unit_rhs;
} ns_run_probe;

ns_status ns_run_probe_init(ns_run_probe *p, const ns_run_config *cfg, const ns_run_dims *dims,
                            ns_net *net);
void ns_run_probe_free(ns_run_probe *p);
/* Install / remove the backward hook that evaluates Theorem 4.1 per BN layer
 * during the training step's own backward pass. */
void ns_run_probe_attach(ns_run_probe *p);
void ns_run_probe_detach(ns_run_probe *p);
/* All probes of step t, then the step's optimizer update (ICS needs w_{t+1}):
 * on return net->params/momentum are exactly what a step without probes
 * would have produced. Hands one record to the sink. */
ns_status ns_run_probe_step(ns_run_probe *p, ns_net *net, const ns_sgd_config *sgd,
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

/* Checkpoints (run_checkpoint.c): parameters, momentum, state (running
 * statistics), the noise stream position, the next step and the result
 * accumulators. load leaves *t0 = 0 when there is no checkpoint; a
 * checkpoint of a different run or config is NS_ERR_FORMAT. */
ns_status ns_run_checkpoint_save(const char *path, const ns_run_config *cfg, const ns_net *net,
                                 int64_t next_step, const ns_run_result *res);
ns_status ns_run_checkpoint_load(const char *path, const ns_run_config *cfg, ns_net *net,
                                 int64_t *t0, ns_run_result *res);
void ns_run_checkpoint_remove(const char *path);

#endif
