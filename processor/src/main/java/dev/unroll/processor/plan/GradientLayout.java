package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Lays out the activation gradients by liveness. Backward runs the head, the layers from last to first, then the
 * embedding, and the gradient of a layer's own tensors is dead once that layer's backward is done: only the residual
 * stream's gradient crosses from one layer to the next. So the gradient arena need not mirror the activations
 * (llm.c's layout): each gradient lives from the first backward op that touches it to the last, and two gradients
 * whose lives do not meet may share floats. An activation no backward op touches (a norm's means, the losses) has
 * no gradient at all.
 *
 * <p>The kernels accumulate into gradients ({@code +=}), so every gradient is cleared by a {@link Kernel#ZERO} op
 * right before its first op, instead of the whole arena once per step: each float a gradient reads is still zero
 * until a kernel adds to it, and every kernel runs on the same numbers as when each gradient had its own floats, so
 * results are bit-identical.
 *
 * <p>Placement is first fit in the order of first use: a gradient takes the lowest offset where it overlaps no
 * gradient still live when it is born.
 */
public final class GradientLayout {
  /** The most floats one Java array holds: the validator's {@code MAX_ARENA} (the plan does not see validate). */
  private static final long MAX_ARENA = Integer.MAX_VALUE - 8L;

  private GradientLayout() {}

  /**
   * The backward stages over the gradients' new places, and those places.
   *
   * @param backward the stages with each gradient at its activation's offset ({@link PlanBuilder#d})
   * @param gradients every gradient some op touches, in the order of first use, with its offset in the gradient arena
   *     and its life
   * @param count floats of the gradient arena
   */
  record Result(List<Stage> backward, List<Gradient> gradients, int count) {}

  /**
   * One activation's gradient in the gradient arena.
   *
   * @param tensor its place: constant {@code D_<activation>}, the activation's dimensions
   * @param first the index of the first backward op that touches it, counting every stage's ops in call order
   * @param last the index of the last
   * @param firstStage the method of the stage of its first op
   * @param lastStage the method of the stage of its last op
   */
  public record Gradient(Tensor tensor, int first, int last, String firstStage, String lastStage) {
    /** Whether the two share a float of the arena. */
    public boolean overlaps(Gradient o) {
      return tensor.offset() < o.tensor.offset() + o.tensor.size() && o.tensor.offset() < tensor.offset() + tensor.size();
    }

    /** Whether their lives meet. */
    public boolean meets(Gradient o) {
      return first <= o.last && o.first <= last;
    }
  }

  /** Places the gradients that {@code backward} touches and rewrites its ops to them, each cleared before first use. */
  static Result layout(List<Stage> backward) {
    // the life of each gradient, by the activation it is the gradient of, in the order of first use
    Map<Tensor, int[]> lives = new LinkedHashMap<>();
    Map<Tensor, String[]> stages = new LinkedHashMap<>();
    int k = 0;
    for (Stage stage : backward) {
      for (Op op : stage.ops()) {
        for (Arg arg : op.args()) {
          Tensor t = gradientOf(arg);
          if (t != null) {
            int index = k;
            lives.computeIfAbsent(t, x -> new int[] {index, index})[1] = index;
            stages.computeIfAbsent(t, x -> new String[] {stage.method(), stage.method()})[1] = stage.method();
          }
        }
        k++;
      }
    }

    List<Gradient> placed = new ArrayList<>();
    Map<Tensor, Gradient> byActivation = new LinkedHashMap<>();
    int count = 0;
    for (Map.Entry<Tensor, int[]> e : lives.entrySet()) {
      Tensor a = e.getKey();
      int first = e.getValue()[0];
      int last = e.getValue()[1];
      int offset = firstFit(placed, first, a.size());
      String[] in = stages.get(a);
      Gradient g = new Gradient(new Tensor("D_" + a.constant(), "D_" + a.constant(), offset, a.dims(), a.dimNames()),
          first, last, in[0], in[1]);
      placed.add(g);
      byActivation.put(a, g);
      long end = (long) offset + a.size();
      if (end > MAX_ARENA) {
        // the validator bounds the activation arena, which holds more than the live gradients of any one op
        throw new IllegalArgumentException("the activation-gradient arena would hold more than " + MAX_ARENA
            + " floats, more than one Java array can index: lower batch or context");
      }
      count = Math.max(count, (int) end);
    }

    List<Stage> rewritten = new ArrayList<>();
    k = 0;
    for (Stage stage : backward) {
      List<Op> ops = new ArrayList<>();
      for (Op op : stage.ops()) {
        List<Arg> args = new ArrayList<>();
        for (Arg arg : op.args()) {
          Tensor t = gradientOf(arg);
          if (t != null && byActivation.get(t).first() == k && !cleared(ops, byActivation.get(t))) {
            ops.add(clear(byActivation.get(t)));
          }
          args.add(t == null ? arg : moved(arg, byActivation.get(t).tensor()));
        }
        ops.add(new Op(op.entry(), args, op.comment()));
        k++;
      }
      rewritten.add(new Stage(stage.method(), stage.doc(), ops));
    }
    return new Result(rewritten, placed, count);
  }

  /** The lowest offset where {@code size} floats overlap no placed gradient alive at op {@code first}. */
  private static int firstFit(List<Gradient> placed, int first, int size) {
    List<Gradient> live = placed.stream().filter(g -> g.last() >= first)
        .sorted(Comparator.comparingInt(g -> g.tensor().offset())).toList();
    int offset = 0;
    for (Gradient g : live) {
      if (g.tensor().offset() - offset >= size) {
        return offset;
      }
      offset = Math.max(offset, g.tensor().offset() + g.tensor().size());
    }
    return offset;
  }

  /** The activation whose gradient {@code arg} is, or null for an argument in another arena. */
  private static Tensor gradientOf(Arg arg) {
    return switch (arg) {
      case Arg.TensorRef r when r.arena() == Arena.DACTS -> r.tensor();
      case Arg.At at when at.arena() == Arena.DACTS -> at.tensor();
      case Arg.Row r when r.arena() == Arena.DACTS -> r.tensor();
      default -> null;
    };
  }

  /** {@code arg} with its gradient at {@code place}. */
  private static Arg moved(Arg arg, Tensor place) {
    return switch (arg) {
      case Arg.TensorRef r -> new Arg.TensorRef(Arena.DACTS, place);
      case Arg.At at -> new Arg.At(Arena.DACTS, place, at.offset());
      case Arg.Row r -> new Arg.Row(Arena.DACTS, place, r.index(), r.rowSize());
      default -> throw new IllegalArgumentException("not a gradient: " + arg);
    };
  }

  /** Whether {@code ops} already end in the clearing of {@code g} (a gradient passed twice to its first op). */
  private static boolean cleared(List<Op> ops, Gradient g) {
    return ops.stream().anyMatch(op -> op.entry() == Kernel.ZERO
        && ((Arg.TensorRef) op.args().get(0)).tensor().equals(g.tensor()));
  }

  private static Op clear(Gradient g) {
    Tensor t = g.tensor();
    return PlanBuilder.op(Kernel.ZERO, t.constant().toLowerCase(Locale.ROOT) + " = 0: " + t.shapeDoc(),
        new Arg.TensorRef(Arena.DACTS, t), new Arg.Size(String.valueOf(t.size()), t.size()));
  }
}
