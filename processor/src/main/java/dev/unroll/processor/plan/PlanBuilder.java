package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

/**
 * What every family's planner shares: the arenas being laid out, the sizes every model's kernels take, and short
 * names for tensors and ops so that a planner reads like the model it describes.
 *
 * <p>A family's planner states its model once, as a decoder is built: {@link #layout()} declares every tensor of
 * every arena into the planner's fields (its parameters, activations and decoding tensors, each in its own method);
 * one method per stage writes the kernel calls of one generated method over them (the embedding, a layer, the head,
 * for forward, backward and decode); {@link #forward()}, {@link #backward()} and {@link #decode()} put the stages in
 * call order and {@link #build()} puts the plan together. The same layout, made in {@link Mode#SIZE}, counts each
 * arena's floats without placing anything: that is how the validator measures a spec before planning it
 * ({@link ArenaSizes}), so the layout is never written twice.
 */
abstract class PlanBuilder {
  /** Weights sharing one scale in the int8 copy: the runtime's {@code Int8.GROUP}. */
  static final int INT8_GROUP = 32;

  /** What a planner is made for. */
  enum Mode {
    /**
     * Place every tensor at its offset and write the stages: the plan of a valid spec. Offsets are {@code int}s, as in
     * the generated code: a spec the validator refuses may wrap them (some tests plan such specs for their ops).
     */
    PLAN,
    /**
     * Count each arena's floats only, in {@code long} arithmetic saturating at {@code Long.MAX_VALUE}, so that a
     * spec of any size is measured without overflow: declarations return no tensor ({@code null}, and no layers),
     * the layers are counted as layer 0 times {@code layers}, and no stage is written.
     */
    SIZE
  }

  /** Makes a family's planner: its constructor. */
  interface Factory {
    PlanBuilder create(ModelSpec spec, Mode mode);
  }

  final ModelSpec s;
  final int vp;
  private final Mode mode;
  private final ArenaLayout params = new ArenaLayout();
  private final ArenaLayout acts = new ArenaLayout();
  private final ArenaLayout kv = new ArenaLayout();
  private final ArenaLayout dec = new ArenaLayout();
  private final List<Plan.Dimension> dimensions = new ArrayList<>();

  // What every model holds, laid out by layoutLoss() and layoutKvCache().
  Tensor logits;
  Tensor probs;
  List<KvCache> caches;

  // The sizes every model's kernels take, as constant expressions over the generated dimension constants.
  final Arg.Size tokens;
  final Arg.Size tokensDim;
  final Arg.Size tokensHidden;
  final Arg.Size batch;
  final Arg.Size context;
  final Arg.Size dim;
  final Arg.Size hidden;
  final Arg.Size heads;
  final Arg.Size headSize;
  final Arg.Size vocab;
  final Arg.Size padded;
  /** One row: decode's token count. */
  final Arg.Size one;
  /** The decoded position, a parameter of the generated decode methods. */
  final Arg.Size pos;

  PlanBuilder(ModelSpec spec, Mode mode) {
    this.s = spec;
    this.vp = spec.family().encoder() ? spec.vocab() : Planner.paddedVocab(spec.vocab());
    this.mode = mode;
    long bt = (long) spec.batch() * spec.context();
    tokens = size("TOKENS", bt);
    tokensDim = size("TOKENS * DIM", bt * spec.dim());
    tokensHidden = size("TOKENS * HIDDEN", bt * spec.hidden());
    batch = size("BATCH", spec.batch());
    context = size("CONTEXT", spec.context());
    dim = size("DIM", spec.dim());
    hidden = size("HIDDEN", spec.hidden());
    heads = size("HEADS", spec.heads());
    headSize = size("HEAD_SIZE", spec.headSize());
    vocab = size("VOCAB", spec.vocab());
    padded = size("PADDED_VOCAB", vp);
    one = size("1", 1);
    pos = size("pos", -1);
  }

  /** The Hugging Face name of a tensor of layer {@code i}. */
  abstract String layerName(int i, String suffix);

  /** The generated {@code SHAPE} constant: how the runtime's shape of this family is made. */
  abstract Plan.RuntimeShape runtimeShape();

  /**
   * Declares every tensor of every arena into the planner's fields. The one statement of the layout: the arena sizes
   * are counted from it and the runtime's layout is tested against it.
   */
  final void layout() {
    layoutParameters();
    layoutActivations();
    layoutDecode();
  }

  /** The parameters, in the family's checkpoint order. */
  abstract void layoutParameters();

  /** The activations, layer by layer, so that one layer's tensors sit together. */
  abstract void layoutActivations();

  /** Every layer's KV cache, and the activations of the one position being decoded. */
  abstract void layoutDecode();

  /** The forward stages, in call order. */
  final List<Stage> forward() {
    return stages(forwardEmbedding(), IntStream.range(0, s.layers()), this::forwardLayer, forwardHead());
  }

  /** The backward stages: the forward in reverse, each op's gradient accumulated into its inputs' gradients. */
  final List<Stage> backward() {
    int last = s.layers() - 1;
    return stages(backwardHead(), IntStream.rangeClosed(0, last).map(i -> last - i), this::backwardLayer,
        backwardEmbedding());
  }

  /**
   * The stages of one decode step: one position against the KV cache, through the same parameters; none for a
   * model that does not decode.
   */
  final List<Stage> decode() {
    if (!decodes()) {
      return List.of();
    }
    return stages(decodeEmbedding(), IntStream.range(0, s.layers()), this::decodeLayer, decodeHead());
  }

  /** {@code first}, the stage of each layer in {@code order}, then {@code last}. */
  private static List<Stage> stages(Stage first, IntStream order, IntFunction<Stage> layer, Stage last) {
    List<Stage> stages = new ArrayList<>(List.of(first));
    order.mapToObj(layer).forEach(stages::add);
    stages.add(last);
    return stages;
  }

  /** Whether the model decodes (a decoder: KV cache and decode stages), or only encodes. */
  boolean decodes() {
    return true;
  }

  /** What an encoder's plan adds (its head and hidden states); null for a decoder. */
  Plan.Encoding encoding() {
    return null;
  }

  // The stages, each one generated method's ops: the embedding, layer i and the head, of forward, backward and
  // decode.
  abstract Stage forwardEmbedding();
  abstract Stage forwardLayer(int i);
  abstract Stage forwardHead();
  abstract Stage backwardHead();
  abstract Stage backwardLayer(int i);
  abstract Stage backwardEmbedding();
  abstract Stage decodeEmbedding();
  abstract Stage decodeLayer(int i);
  abstract Stage decodeHead();

  /** The plan of a valid spec: the layout, then the stages over it. */
  final Plan build() {
    if (mode != Mode.PLAN) {
      throw new IllegalStateException("a planner made to size a spec does not plan it");
    }
    layout();
    return plan(forward(), backward(), decode());
  }

  /** The floats of the parameter and activation arenas, from the layout alone. */
  final ArenaSizes sizes() {
    layout();
    return new ArenaSizes(params.top, add(acts.top, acts.shared));
  }

  Plan plan(List<Stage> forward, List<Stage> backward, List<Stage> decode) {
    List<Stage> bf16 = withWeights(decode, Arena.BF16, "Bf16", "bfloat16");
    List<Stage> int8 = withWeights(decode, Arena.INT8, "Int8", "int8, in groups of 32");
    if (!int8Groups(int8)) {
      int8 = List.of();
    }
    GradientLayout.Result gradients = GradientLayout.layout(backward);
    return new Plan(s, vp, params.tensors, acts.tensors, (int) params.top, (int) acts.top, gradients.gradients(),
        gradients.count(), forward, gradients.backward(), kv.tensors, dec.tensors, decode, bf16, int8, dimensions,
        runtimeShape(), encoding());
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

  Tensor cache(String constant, long[] dims, List<String> names) {
    return kv.place(constant, constant, dims, names);
  }

  Tensor decodeAct(String constant, long[] dims, List<String> names) {
    return dec.place("DEC_" + constant, "DEC_" + constant, dims, names);
  }

  static Arg dc(Tensor t) {
    return new Arg.TensorRef(Arena.DEC, t);
  }

  static Arg kvRef(Tensor t) {
    return new Arg.TensorRef(Arena.KV, t);
  }

  Tensor param(String constant, String name, long[] dims, List<String> names) {
    return params.place(constant, name, dims, names);
  }

  /** One kind of parameter for every layer, side by side: {@code L<i>_<constant>}, named by {@link #layerName}. */
  Tensor[] layerParams(String constant, String suffix, long[] dims, List<String> names) {
    return perLayer(i -> param("L" + i + "_" + constant, layerName(i, suffix), dims, names)).toArray(Tensor[]::new);
  }

  Tensor act(String constant, long[] dims, List<String> names) {
    return acts.place(constant, constant, dims, names);
  }

  /**
   * An activation that its layer needs only for a moment, at the same floats in every layer: one layer's scratch,
   * {@code L<layer>_<constant>}. For what backward never reads (attention's scores before the softmax), or what it
   * recomputes, with the same kernel on the same inputs, right before it reads it (a GELU's output, from its input).
   */
  Tensor layerScratch(int layer, String constant, long[] dims, List<String> names) {
    return acts.placeShared(layer, constant, dims, names);
  }

  /**
   * A call of {@code kernel}, its arguments in the order of the kernel's roles.
   *
   * @throws IllegalArgumentException for arguments that do not fit the kernel's roles
   */
  static Op op(Kernel kernel, String comment, Arg... args) {
    return new Op(kernel, List.of(args), comment);
  }

  /**
   * A forward op again, in backward, right before an op reads what it wrote into a layer's scratch
   * ({@link #layerScratch}): the same kernel on the same inputs writes the same floats.
   */
  static Op recompute(Op forward) {
    return new Op(forward.entry(), forward.args(), "recompute " + forward.comment());
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

  /** A tensor's dimensions, as {@code long}s so that a layout's arithmetic on them cannot wrap while sizing. */
  static long[] dims(long... d) {
    return d;
  }

  static List<String> names(String... n) {
    return List.of(n);
  }

  /** The logits over the padded vocabulary, their softmax and the per-position losses: every model's last. */
  final void layoutLoss() {
    long b = s.batch();
    long t = s.context();
    logits = act("LOGITS", dims(b, t, vp), names("B", "T", "Vp"));
    probs = act("PROBS", dims(b, t, vp), names("B", "T", "Vp"));
    act("LOSSES", dims(b, t), names("B", "T"));
  }

  /** probs = softmax(logits): the forward's last op. */
  final Op softmax() {
    return op(Kernel.SOFTMAX_FORWARD, "probs = softmax(logits[..., :V]): (B, T, Vp)",
        a(probs), a(logits), tokens, vocab, padded);
  }

  /** The mean cross-entropy's gradient at the logits: the backward's first op. */
  final Op crossEntropyBackward() {
    return op(Kernel.CROSS_ENTROPY_SOFTMAX_BACKWARD, "dlogits = (probs - onehot(targets)) / (B*T): (B, T, Vp)",
        d(logits), a(probs), new Arg.Targets(), tokens, vocab, padded);
  }

  /** Every layer's key and value caches, (T, {@code width}) each, in the KV arena. */
  final void layoutKvCache(long width, String widthName) {
    caches = perLayer(i -> new KvCache(
        cache("L" + i + "_KCACHE", dims(s.context(), width), names("T", widthName)),
        cache("L" + i + "_VCACHE", dims(s.context(), width), names("T", widthName))));
  }

  /**
   * {@code layer} applied to every layer in order: for the tensors that each layer declares. When sizing it runs for
   * layer 0 alone and every arena grows by {@code layers} times what that layer added, so that measuring a spec of
   * two billion layers costs one (a family's layers are a stack of identical blocks: every layer declares the same
   * tensors).
   */
  <T> List<T> perLayer(IntFunction<T> layer) {
    if (mode == Mode.SIZE) {
      List<ArenaLayout> arenas = List.of(params, acts, kv, dec);
      long[] before = arenas.stream().mapToLong(a -> a.top).toArray();
      layer.apply(0);
      for (int k = 0; k < before.length; k++) {
        ArenaLayout a = arenas.get(k);
        a.top = add(before[k], mul(s.layers(), a.top - before[k]));
      }
      return List.of();
    }
    List<T> out = new ArrayList<>();
    for (int i = 0; i < s.layers(); i++) {
      out.add(layer.apply(i));
    }
    return out;
  }

  /** A key and a value cache of one layer. */
  record KvCache(Tensor k, Tensor v) {}

  /**
   * A dimension constant of this family's own, beyond those every model has ({@code KV_DIM}, say): recorded in the
   * plan for the generated class to declare, and returned as the size kernels are called with.
   */
  Arg.Size dimension(String name, long value, String doc) {
    if (mode == Mode.PLAN) {
      dimensions.add(new Plan.Dimension(name, (int) value, doc));
    }
    return size(name, value);
  }

  static Stage stage(String method, String doc, Op... ops) {
    return new Stage(method, doc, List.of(ops));
  }

  /** {@code a * b} for non-negative operands, or {@code Long.MAX_VALUE} where it would overflow. */
  private static long mul(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long lo = a * b;
    return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
  }

  /** {@code a + b} for non-negative operands, or {@code Long.MAX_VALUE} where it would overflow. */
  private static long add(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  /**
   * One arena being laid out: its tensors in order and the first free float after them (saturating when sizing, so
   * that it never wraps).
   */
  private final class ArenaLayout {
    final List<Tensor> tensors = new ArrayList<>();
    long top;
    /** Sizing: the floats of the layers' shared tensors, counted once rather than once per layer. */
    long shared;
    /** Planning: where each shared tensor's floats are, by its name without the layer. */
    final Map<String, Integer> slots = new HashMap<>();

    /**
     * Places layer {@code layer}'s {@code L<layer>_<constant>} at the floats every layer's shares: the first layer
     * declaring it places them; sizing counts them once.
     */
    Tensor placeShared(int layer, String constant, long[] dims, List<String> dimNames) {
      String name = "L" + layer + "_" + constant;
      if (mode == Mode.SIZE) {
        long before = top;
        place(name, name, dims, dimNames);
        shared = add(shared, top - before);
        top = before;
        return null;
      }
      Integer at = slots.get(constant);
      if (at == null) {
        Tensor t = place(name, name, dims, dimNames);
        slots.put(constant, t.offset());
        return t;
      }
      Tensor t = new Tensor(name, name, at, Arrays.stream(dims).mapToObj(d -> (int) d).toList(), dimNames);
      tensors.add(t);
      return t;
    }

    /** Places the next tensor, or, sizing, counts its floats and returns null. */
    Tensor place(String constant, String name, long[] dims, List<String> dimNames) {
      if (mode == Mode.SIZE) {
        long floats = 1;
        for (long d : dims) {
          floats = mul(floats, d);
        }
        top = add(top, floats);
        return null;
      }
      Tensor t = new Tensor(constant, name, (int) top, Arrays.stream(dims).mapToObj(d -> (int) d).toList(), dimNames);
      tensors.add(t);
      top += t.size();
      return t;
    }
  }
}
