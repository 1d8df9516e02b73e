package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;

/**
 * The floats each arena needs, in saturating {@code long} arithmetic so that any spec, however large, can be
 * measured before it is planned. Counted from the family planner's own layout (run without placing anything, and
 * at the cost of one layer however many there are), so it cannot disagree with the plan.
 *
 * @param parameters floats of the parameter arena (the gradient arena has the same size)
 * @param activations floats of the activation arena (the activation-gradient arena has the same size)
 */
public record ArenaSizes(long parameters, long activations) {

  /**
   * The sizes of a spec of a registered family with positive dimensions (the validator asks once every other check
   * has passed).
   */
  public static ArenaSizes of(ModelSpec s) {
    return Families.of(s.family()).sizes(s);
  }
}
