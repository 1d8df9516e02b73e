package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What every family's planner shares: the arenas being laid out, and short names for tensors and ops so that a
 * planner reads like the model it describes.
 */
abstract class PlanBuilder {
  /** Weights sharing one scale in the int8 copy: the runtime's {@code Int8.GROUP}. */
  static final int INT8_GROUP = 32;

  final ModelSpec s;
  final int vp;
  final List<Tensor> params = new ArrayList<>();
  final List<Tensor> acts = new ArrayList<>();
  final List<Tensor> kv = new ArrayList<>();
  final List<Tensor> dec = new ArrayList<>();
  int paramTop;
  int actTop;
  int kvTop;
  int decTop;

  PlanBuilder(ModelSpec spec) {
    this.s = spec;
    this.vp = Planner.paddedVocab(spec.vocab());
  }

  abstract Plan build();

  /** The Hugging Face name of a tensor of layer {@code i}. */
  abstract String layerName(int i, String suffix);

  Plan plan(List<Stage> forward, List<Stage> backward, List<Stage> decode) {
    List<Stage> bf16 = withWeights(decode, Arena.BF16, "Bf16", "bfloat16");
    List<Stage> int8 = withWeights(decode, Arena.INT8, "Int8", "int8, in groups of 32");
    if (!int8Groups(int8)) {
      int8 = List.of();
    }
    return new Plan(s, vp, params, acts, paramTop, actTop, forward, backward, kv, dec, decode, bf16, int8);
  }

  /**
   * The decode stages with every op whose kernel has a variant reading its weight from {@code arena}, and whose
   * weight is a parameter, calling that variant on the copy in {@code arena} instead (a stage with no such op is the
   * decode stage itself).
   */
  private static List<Stage> withWeights(List<Stage> decode, Arena arena, String suffix, String format) {
    List<Stage> stages = new ArrayList<>();
    for (Stage stage : decode) {
      List<Op> ops = stage.ops().stream().map(op -> withWeights(op, arena, format)).toList();
      stages.add(ops.equals(stage.ops()) ? stage
          : new Stage(stage.method() + suffix, stage.doc() + " Weights read as " + format + ".", ops));
    }
    return stages;
  }

  private static Op withWeights(Op op, Arena arena, String format) {
    Optional<Kernel> variant = op.entry().withWeights(arena.element());
    if (variant.isEmpty() || !(op.arg(Role.WEIGHT) instanceof Arg.TensorRef w && w.arena() == Arena.PARAMS)) {
      return op;
    }
    return op.with(variant.get(), Role.WEIGHT, new Arg.TensorRef(arena, w.tensor()),
        op.comment() + ", weights in " + format);
  }

  /**
   * Whether every int8 product's groups of {@link #INT8_GROUP} weights lie within one row of its weight: the input
   * width and the weight's offset multiples of the group (the int8 kernels' scales are one per group of the flat
   * parameter array). Shapes whose widths are not (dim 48, say) decode in float32 and bfloat16 only.
   */
  private static boolean int8Groups(List<Stage> stages) {
    for (Stage stage : stages) {
      for (Op op : stage.ops()) {
        if (op.entry() == Kernel.MATMUL_FORWARD_INT8 && op.arg(Role.WEIGHT) instanceof Arg.TensorRef w
            && (op.size(Role.C).value() % INT8_GROUP != 0 || w.tensor().offset() % INT8_GROUP != 0)) {
          return false;
        }
      }
    }
    return true;
  }

  Tensor cache(String constant, List<Integer> dims, List<String> names) {
    Tensor t = new Tensor(constant, constant, kvTop, dims, names);
    kv.add(t);
    kvTop += t.size();
    return t;
  }

  Tensor decodeAct(String constant, List<Integer> dims, List<String> names) {
    Tensor t = new Tensor("DEC_" + constant, "DEC_" + constant, decTop, dims, names);
    dec.add(t);
    decTop += t.size();
    return t;
  }

  static Arg dc(Tensor t) {
    return new Arg.TensorRef(Arena.DEC, t);
  }

  static Arg kvRef(Tensor t) {
    return new Arg.TensorRef(Arena.KV, t);
  }

  Tensor param(String constant, String name, List<Integer> dims, List<String> names) {
    Tensor t = new Tensor(constant, name, paramTop, dims, names);
    params.add(t);
    paramTop += t.size();
    return t;
  }

  Tensor[] layerParams(String constant, String suffix, List<Integer> dims, List<String> names) {
    Tensor[] out = new Tensor[s.layers()];
    for (int i = 0; i < out.length; i++) {
      out[i] = param("L" + i + "_" + constant, layerName(i, suffix), dims, names);
    }
    return out;
  }

  Tensor act(String constant, List<Integer> dims, List<String> names) {
    Tensor t = new Tensor(constant, constant, actTop, dims, names);
    acts.add(t);
    actTop += t.size();
    return t;
  }

  /**
   * A call of the catalogue's kernel named {@code kernel}.
   *
   * @throws IllegalArgumentException for a name not in the catalogue, or arguments that do not fit its roles
   */
  static Op op(String kernel, String comment, Arg... args) {
    return op(Kernel.named(kernel), comment, args);
  }

  /**
   * A call of {@code kernel}, its arguments in the order of the kernel's roles.
   *
   * @throws IllegalArgumentException for arguments that do not fit the kernel's roles
   */
  static Op op(Kernel kernel, String comment, Arg... args) {
    return new Op(kernel, List.of(args), comment);
  }

  static Arg a(Tensor t) {
    return new Arg.TensorRef(Arena.ACTS, t);
  }

  static Arg d(Tensor t) {
    return new Arg.TensorRef(Arena.DACTS, t);
  }

  static Arg p(Tensor t) {
    return new Arg.TensorRef(Arena.PARAMS, t);
  }

  static Arg g(Tensor t) {
    return new Arg.TensorRef(Arena.GRADS, t);
  }

  static Arg.Size size(String expression, long value) {
    return new Arg.Size(expression, value);
  }

  static List<Integer> dims(int... d) {
    List<Integer> out = new ArrayList<>();
    for (int x : d) {
      out.add(x);
    }
    return out;
  }

  static List<String> names(String... n) {
    return List.of(n);
  }
}
