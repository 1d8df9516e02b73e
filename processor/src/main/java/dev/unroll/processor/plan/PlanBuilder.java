package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * What every family's planner shares: the arenas being laid out, and short names for tensors and ops so that a
 * planner reads like the model it describes.
 */
abstract class PlanBuilder {
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
    List<Stage> bf16 = new ArrayList<>();
    for (Stage stage : decode) {
      List<Op> ops = stage.ops().stream().map(PlanBuilder::withBf16Weights).toList();
      bf16.add(ops.equals(stage.ops()) ? stage
          : new Stage(stage.method() + "Bf16", stage.doc() + " Weights read as bfloat16.", ops));
    }
    return new Plan(s, vp, params, acts, paramTop, actTop, forward, backward, kv, dec, decode, bf16);
  }

  /** A matmul whose weight is a parameter, reading the weight's bfloat16 copy instead; any other op as it is. */
  private static Op withBf16Weights(Op op) {
    if (!op.kernel().equals("matmulForward")
        || !(op.args().get(2) instanceof Arg.TensorRef w && w.arena() == Arena.PARAMS)) {
      return op;
    }
    List<Arg> args = new ArrayList<>(op.args());
    args.set(2, new Arg.TensorRef(Arena.BF16, w.tensor()));
    return new Op("matmulForwardBf16", args, op.comment() + ", weights in bfloat16");
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

  static Op op(String kernel, String comment, Arg... args) {
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
