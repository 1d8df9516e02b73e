package dev.unroll.processor.emit;

import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.MethodSpec;
import dev.unroll.processor.kernel.Phase;
import dev.unroll.processor.plan.Arena;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.Op;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Stage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.lang.model.element.Modifier;

/**
 * Prints OpenCL C for a model: thin {@code __kernel} wrappers that bind each op's tensors and pass its sizes as
 * literals to the runtime's library functions, which the OpenCL compiler then specialises for them; and the Java
 * that makes one bound kernel call per op, stage by stage, on the model's {@code DeviceModel}.
 *
 * <p>Ops with the same kernel and the same sizes share one wrapper; each op still gets its own kernel call, its
 * tensors' offsets bound once at construction.
 */
final class OpenClWriter {
  /**
   * The model's device buffers in the order the generated {@code bindDevice()} makes them (which numbers them):
   * the constant naming each, and the {@code DeviceModel} call that makes it. A decoder's hold its KV cache and
   * decoding step; an encoder's its lengths (and token types, or grids) and one label per row.
   */
  static Map<String, String> buffers(Plan plan) {
    Map<String, String> b = new LinkedHashMap<>();
    b.put("CL_PARAMS", "floats(PARAMETER_COUNT)");
    b.put("CL_GRADS", "floats(PARAMETER_COUNT)");
    b.put("CL_ACTS", "floats(ACTIVATION_COUNT)");
    b.put("CL_DACTS", "floats(ACTIVATION_GRADIENT_COUNT)");
    if (plan.encoding() == null) {
      b.put("CL_KV", "floats(KV_COUNT)");
      b.put("CL_DEC", "floats(DECODE_COUNT)");
      b.put("CL_INPUTS", "ints(TOKENS)");
      b.put("CL_TARGETS", "ints(TOKENS)");
      b.put("CL_STEP", "ints(2)");
    } else if (plan.spec().family() == dev.unroll.Family.VIT) {
      b.put("CL_PIXELS", "floats(BATCH * PIXELS)");
      b.put("CL_LENGTHS", "ints(BATCH)");
      b.put("CL_TARGETS", "ints(BATCH)");
    } else {
      b.put("CL_INPUTS", "ints(TOKENS)");
      b.put("CL_TYPES", "ints(TOKENS)");
      b.put("CL_LENGTHS", "ints(BATCH)");
      b.put("CL_TARGETS", "ints(BATCH)");
    }
    b.put("CL_SCALARS", "floats(1)");
    return java.util.Collections.unmodifiableMap(b);
  }

  private final Plan plan;
  /** Wrapper source by its signature (function and arguments), in first-use order. */
  private final Map<String, String> wrappers = new LinkedHashMap<>();
  private final Map<String, String> names = new LinkedHashMap<>();
  private final Map<String, Integer> perKernel = new LinkedHashMap<>();

  OpenClWriter(Plan plan) {
    this.plan = plan;
  }

  /** The Java method that makes the kernel calls of {@code stage}: {@code cl<Stage>()}. */
  MethodSpec stageMethod(Stage stage) {
    MethodSpec.Builder m = MethodSpec.methodBuilder(methodName(stage)).addModifiers(Modifier.PRIVATE)
        .addJavadoc("Binds the OpenCL kernel calls of $L(): $L\n", stage.method(), stage.doc());
    for (Op op : stage.ops()) {
      m.addComment("$L", op.comment());
      m.addCode(calls(op));
    }
    return m.build();
  }

  static String methodName(Stage stage) {
    return "cl" + Character.toUpperCase(stage.method().charAt(0)) + stage.method().substring(1);
  }

  /** Statements that make {@code op}'s kernel calls, one per phase, on {@code cl}. */
  CodeBlock calls(Op op) {
    List<ClArg> args = new ArrayList<>();
    List<String> pairs = new ArrayList<>();
    List<Long> ints = new ArrayList<>();
    boolean step = false;
    for (Arg arg : op.args()) {
      switch (arg) {
        case Arg.TensorRef r -> {
          args.add(new ClArg.Ptr(cType(r.arena())));
          pairs.add(buffer(r.arena()) + ", " + r.tensor().constant());
        }
        case Arg.At at -> {
          args.add(new ClArg.Ptr(cType(at.arena())));
          pairs.add(buffer(at.arena()) + ", " + at.tensor().constant() + " + " + at.offset());
        }
        case Arg.Row r -> {
          int dynamic = stepIndex(r.index());
          if (dynamic >= 0) {
            args.add(new ClArg.RowPtr(cType(r.arena()), dynamic, r.rowSize()));
            pairs.add(buffer(r.arena()) + ", " + r.tensor().constant());
            step = true;
          } else {
            args.add(new ClArg.Ptr(cType(r.arena())));
            pairs.add(buffer(r.arena()) + ", " + r.tensor().constant() + " + " + r.index() + " * " + r.rowSize());
          }
        }
        case Arg.None unused -> args.add(new ClArg.NullPtr());
        case Arg.Size sz -> {
          int dynamic = stepIndex(sz.expression());
          if (dynamic >= 0) {
            args.add(new ClArg.Dyn(dynamic));
            ints.add(-1L);
            step = true;
          } else {
            args.add(new ClArg.Const(sz.value()));
            ints.add(sz.value());
          }
        }
        case Arg.Inputs unused -> {
          args.add(new ClArg.Ptr("int"));
          pairs.add("CL_INPUTS, 0");
        }
        case Arg.Targets unused -> {
          args.add(new ClArg.Ptr("int"));
          pairs.add("CL_TARGETS, 0");
        }
        case Arg.Types unused -> {
          args.add(new ClArg.Ptr("int"));
          pairs.add("CL_TYPES, 0");
        }
        case Arg.Lengths unused -> {
          args.add(new ClArg.Ptr("int"));
          pairs.add("CL_LENGTHS, 0");
        }
        case Arg.Pixels unused -> {
          args.add(new ClArg.Ptr("float"));
          pairs.add("CL_PIXELS, 0");
        }
        case Arg.Constant c -> args.add(new ClArg.FloatConst(c.literal()));
      }
    }
    if (step) {
      pairs.add("CL_STEP, 0");
    }
    long[] sizes = ints.stream().mapToLong(Long::longValue).toArray();
    CodeBlock.Builder code = CodeBlock.builder();
    String method = op.kernel();
    for (Phase phase : op.entry().phases(sizes)) {
      String name = wrapperName(method, "uk_" + method + phase.suffix(), args, phase.localFloats());
      CodeBlock.Builder call = CodeBlock.builder().add("cl.kernel($S, new long[] {$L}, new long[] {$L}", name,
          join(phase.global()), join(phase.local()));
      for (String pair : pairs) {
        call.add(",$W$L", pair);
      }
      code.addStatement("$L)", call.build());
    }
    return code.build();
  }

  private String wrapperName(String kernel, String function, List<ClArg> args, int localFloats) {
    String key = function + args + "/" + localFloats;
    String name = names.get(key);
    if (name == null) {
      int n = perKernel.merge(kernel, 1, Integer::sum);
      name = kernel + "_" + n;
      names.put(key, name);
      wrappers.put(key, wrapper(name, function, args, localFloats));
    }
    return name;
  }

  /** The model's OpenCL C: its dimensions as macros, then every wrapper the stages so far have used. */
  String source() {
    StringBuilder out = new StringBuilder();
    out.append("// ").append(plan.spec().generatedName()).append(": ").append(plan.spec().describe()).append('\n');
    for (String[] d : dimensions()) {
      out.append("#define ").append(d[0]).append(' ').append(d[1]).append('\n');
    }
    for (String w : wrappers.values()) {
      out.append('\n').append(w);
    }
    return out.toString();
  }

  private List<String[]> dimensions() {
    var spec = plan.spec();
    List<String[]> d = new ArrayList<>();
    d.add(new String[] {"DIM", Integer.toString(spec.dim())});
    d.add(new String[] {"HIDDEN", Integer.toString(spec.hidden())});
    d.add(new String[] {"HEAD_SIZE", Integer.toString(spec.dim() / spec.heads())});
    d.add(new String[] {"KV_DIM", Integer.toString(spec.kvHeads() * (spec.dim() / spec.heads()))});
    return d;
  }

  private static int stepIndex(String expression) {
    return switch (expression) {
      case "token" -> 0;
      case "pos" -> 1;
      default -> -1;
    };
  }

  private static String cType(Arena arena) {
    return arena == Arena.BF16 ? "ushort" : "float";
  }

  /** The Java expression for an arena's device buffer number. */
  static String buffer(Arena arena) {
    return arena == Arena.BF16 ? "clBf16Buffer" : "CL_" + arena.name().toUpperCase(Locale.ROOT);
  }

  private static String join(long[] values) {
    StringBuilder sb = new StringBuilder();
    for (long v : values) {
      sb.append(sb.isEmpty() ? "" : ", ").append(v).append('L');
    }
    return sb.toString();
  }

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
        case ClArg.FloatConst c -> call.append(c.literal());
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
