package dev.unroll.processor.plan;

import java.util.List;

/**
 * One kernel call: a method of {@code dev.unroll.runtime.kernel.Kernels} with its arguments, and a comment naming the
 * op and its shapes.
 */
public record Op(String kernel, List<Arg> args, String comment) {
  public Op {
    args = List.copyOf(args);
  }
}
