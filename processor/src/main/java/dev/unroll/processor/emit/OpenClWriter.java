package dev.unroll.processor.emit;

import java.util.List;

/**
 * Prints OpenCL C for a model: thin {@code __kernel} wrappers that bind each op's tensors and pass its sizes as
 * literals to the runtime's library functions, which the OpenCL compiler then specialises for them.
 */
final class OpenClWriter {
  private OpenClWriter() {}

  /**
   * The source of one wrapper kernel {@code name} calling library function {@code function} with {@code args}.
   * Its parameters: a {@code (__global T* bI, int oI)} pair per pointer argument, in order, then {@code
   * (__global const int* step, int so)} when an argument is read at run time.
   *
   * @param localFloats floats of {@code __local} scratch passed last, 0 for none
   */
  static String wrapper(String name, String function, List<ClArg> args, int localFloats) {
    StringBuilder params = new StringBuilder();
    StringBuilder call = new StringBuilder();
    boolean step = false;
    int pair = 0;
    for (ClArg arg : args) {
      if (!call.isEmpty()) {
        call.append(", ");
      }
      switch (arg) {
        case ClArg.Ptr p -> {
          appendPair(params, p.cType(), pair);
          call.append("b").append(pair).append(" + o").append(pair);
          pair++;
        }
        case ClArg.RowPtr r -> {
          appendPair(params, r.cType(), pair);
          call.append("b").append(pair).append(" + o").append(pair).append(" + step[").append(r.stepIndex())
              .append("] * (").append(r.rowSize()).append(")");
          pair++;
          step = true;
        }
        case ClArg.NullPtr unused -> call.append("0");
        case ClArg.Const c -> call.append(c.value());
        case ClArg.Dyn d -> {
          call.append("step[").append(d.stepIndex()).append("]");
          step = true;
        }
      }
    }
    if (step) {
      if (!params.isEmpty()) {
        params.append(", ");
      }
      params.append("__global const int* stepBase, int so");
    }
    if (localFloats > 0) {
      call.append(call.isEmpty() ? "" : ", ").append("scratch");
    }
    StringBuilder out = new StringBuilder();
    out.append("__kernel void ").append(name).append("(").append(params).append(") {\n");
    if (step) {
      out.append("  __global const int* step = stepBase + so;\n");
    }
    if (localFloats > 0) {
      out.append("  __local float scratch[").append(localFloats).append("];\n");
    }
    out.append("  ").append(function).append("(").append(call).append(");\n}\n");
    return out.toString();
  }

  private static void appendPair(StringBuilder params, String cType, int pair) {
    if (!params.isEmpty()) {
      params.append(", ");
    }
    params.append("__global ").append(cType).append("* b").append(pair).append(", int o").append(pair);
  }
}
