/* arch.h - architectures from a compact string. Full grammar and layouts in
 * docs/architectures.md. Summary:
 *
 *   vgg11 | vgg13 | vgg16 | vgg19 [:width=F]
 *       CIFAR VGG: per conv entry  conv3x3(stride 1, pad 1, bias) -> [norm] -> ReLU,
 *       'M' = maxpool 2x2 stride 2 (floor); then Linear(c*h*w -> nout) as the
 *       classifier. width=F scales every conv's channels to round(c*F) (error if
 *       any becomes 0). A max-pool that meets a map smaller than 2x2 is
 *       omitted (28x28 input: 28-14-7-3-1, the fifth pool is dropped), so the
 *       classifier always sees c*h*w of the final map.
 *   mlp:784-256-256-256-10
 *       dense(bias) -> [norm] -> ReLU between sizes; the last dense is the
 *       classifier. The first number must equal the input size c*h*w and the
 *       last must equal nout. At least two numbers.
 *   dln:depth=D,width=W
 *       D bias-free dense W->W layers, no nonlinearity; [norm] after every
 *       layer but the last. Input size and nout must both equal W.
 *
 * Errors (unknown family, unknown option, bad number, width rounding to zero,
 * an input shape or nout the arch cannot take) -> NS_ERR_ARG naming the text.
 */
#ifndef NORMSWEEP_ARCH_H
#define NORMSWEEP_ARCH_H

#include "normsweep/error.h"
#include "normsweep/layer.h"

typedef enum ns_arch_family { NS_ARCH_VGG = 0, NS_ARCH_MLP, NS_ARCH_DLN } ns_arch_family;

typedef enum ns_arch_op {
    NS_AOP_CONV3 = 0, /* conv 3x3/1/1 with bias, width = out channels */
    NS_AOP_POOL,      /* maxpool 2x2/2                                 */
    NS_AOP_DENSE      /* dense, width = out features                   */
} ns_arch_op;

#define NS_ARCH_MAX_ITEMS 64

typedef struct ns_arch_item {
    ns_arch_op op;
    int width;  /* out channels / features (unused for POOL)                  */
    int bias;   /* 1: has a bias                                              */
    int hidden; /* 1: followed by [norm] (and ReLU unless the family is DLN)  */
} ns_arch_item;

typedef struct ns_arch {
    ns_arch_family family;
    int relu;                          /* 1 for VGG/MLP, 0 for DLN          */
    int mlp_in;                        /* MLP: first size (input), else 0   */
    int nitems;
    ns_arch_item items[NS_ARCH_MAX_ITEMS]; /* classifier last               */
} ns_arch;

/* Parse the string alone (no shapes): the plan of layers. The VGG classifier's
 * width is filled in by ns_arch_resolve. */
ns_status ns_arch_parse(const char *text, ns_arch *out);

/* Parse and check against an input shape and output count: fills the plan with
 * every width final, drops pools on maps smaller than the 2x2 window. */
ns_status ns_arch_resolve(const char *text, ns_shape in, int nout, ns_arch *out);

/* Sizes of an arch on an input shape, without building it (sweep limits and
 * cost estimates). Counts per sample; doubles, so that absurd sizes are
 * reported, not wrapped. */
typedef struct ns_arch_size_info {
    double train_flops;    /* 3x the forward multiply-add FLOPs (2 per MAC)      */
    double params;         /* weights and biases of the dense/conv layers       */
    double outputs;        /* output values of the dense/conv/pool layers       */
    double hidden_outputs; /* of those, outputs followed by [norm] (and ReLU)   */
    int measured_layers;   /* dense/conv layers                                 */
} ns_arch_size_info;
ns_status ns_arch_size(const char *arch, ns_shape in, int nout, ns_arch_size_info *out);

/* Check without building (sweep validation, cost estimates). On success
 * *train_flops_per_sample (may be NULL) is 3x the forward multiply-add FLOPs
 * (2 per MAC) of dense/conv layers, the usual forward+backward estimate. */
ns_status ns_arch_check(const char *arch, ns_shape in, int nout, double *train_flops_per_sample);

#endif
