/*
 * budget.h - the work budget of one policy evaluation.
 *
 * Every layer that works for one evaluation (the rule evaluator, JSON decoding, JMESPath)
 * draws from the same budget, so the whole evaluation of a request is bounded, not each
 * call on its own. Units are steps: a step is calibrated to cost at most about the same
 * CPU time whatever does it (docs/internals/policy.md, "Budget"; bench/bench_policy_budget.c
 * measures the worst case).
 */
#ifndef ATT_POLICY_BUDGET_H
#define ATT_POLICY_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct att_budget {
    uint64_t used;
    uint64_t max;
};

/* Take n steps; false, with the budget marked spent, when they do not fit. */
static inline bool att_budget_take(struct att_budget *b, uint64_t n)
{
    if (b->used > b->max || n > b->max - b->used) {
        b->used = b->max;
        return false;
    }
    b->used += n;
    return true;
}

#endif
