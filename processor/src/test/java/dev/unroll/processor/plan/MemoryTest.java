package dev.unroll.processor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Training memory: where storage is shared (activation gradients by liveness, a layer's scratch activations), each
 * kernel still reads what its own tensor's writer left there; and the arenas against llm.c's at the bench's shapes.
 */
class MemoryTest {
  /** The bench's named decoder shapes ({@code bench/.../Shapes.java}) and the samples' character model. */
  static final List<ModelSpec> SHAPES = List.of(
      ModelSpec.gpt2("Tiny", 65, 64, 64, 4, 2, 8),
      ModelSpec.gpt2("Baby", 65, 64, 128, 4, 4, 12),
      ModelSpec.gpt2("Medium", 65, 256, 384, 6, 6, 4),
      ModelSpec.gpt2("Gpt2", 50257, 64, 768, 12, 12, 4),
      ModelSpec.gpt2("Char", 256, 64, 128, 4, 4, 12));

  /** Every family, shapes odd and even, so that every planner's sharing is checked. */
  static List<ModelSpec> everyFamily() {
    return Stream.concat(SHAPES.stream(), Stream.of(
        PlannerTest.AWKWARD,
        ModelSpec.llama("L", 97, 13, 48, 6, 2, 2, 3, false),
        ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true),
        ModelSpec.bert("B", 101, 13, 48, 3, 2, 3, ModelSpec.Encoding.bert(3, true, true, 2)),
        ModelSpec.bert("N", 11, 5, 8, 2, 2, 3, ModelSpec.Encoding.bert(3, false, false, 0)),
        ModelSpec.vit("V", 48, 3, 2, 2, ModelSpec.Encoding.vit(5, false, false, 3, 10, 6, 2, 3)))).toList();
  }

  /**
   * Replays backward over the gradient arena: a gradient's zero op claims its floats, taking them from any gradient
   * there before; every other op must find each gradient it touches still holding its claim. So no two gradients
   * whose lives meet share a float, and none is used before it is cleared.
   */
  @Test
  void everyGradientIsClearedBeforeUseAndKeepsItsFloatsWhileLive() {
    for (ModelSpec spec : everyFamily()) {
      Plan plan = Planner.plan(spec);
      List<Tensor> claimed = new ArrayList<>();
      Set<String> cleared = new HashSet<>();
      for (Stage stage : plan.backward()) {
        for (Op op : stage.ops()) {
          if (op.entry() == Kernel.ZERO) {
            Tensor g = tensor(op.args().get(0));
            assertTrue(cleared.add(g.constant()), spec.interfaceName() + ": " + g.constant() + " cleared twice");
            assertEquals(g.size(), op.size("n").value(), g.constant());
            claimed.removeIf(h -> overlap(g, h));
            claimed.add(g);
            continue;
          }
          for (Arg arg : op.args()) {
            if (arena(arg) == Arena.DACTS) {
              assertTrue(claimed.contains(tensor(arg)), spec.interfaceName() + ": " + op.comment() + " finds "
                  + tensor(arg).constant() + " cleared by none or overwritten by another gradient");
            }
          }
        }
      }
      assertEquals(plan.activationGradients().size(), cleared.size(), spec.interfaceName());
      int end = 0;
      for (GradientLayout.Gradient g : plan.activationGradients()) {
        end = Math.max(end, g.tensor().offset() + g.tensor().size());
        for (GradientLayout.Gradient h : plan.activationGradients()) {
          assertFalse(g != h && g.meets(h) && g.overlaps(h), g.tensor().constant() + " / " + h.tensor().constant());
        }
      }
      assertEquals(plan.activationGradientCount(), end, spec.interfaceName());
    }
  }

  /**
   * Replays forward then backward over the activation arena: every activation a kernel reads holds what was last
   * written there by that same activation's writer, not by another layer's copy of a shared scratch.
   */
  @Test
  void everySharedActivationIsReadAsItsOwnWriterLeftIt() {
    for (ModelSpec spec : everyFamily()) {
      Plan plan = Planner.plan(spec);
      List<Tensor> holding = new ArrayList<>(plan.activations());
      holding.removeIf(t -> plan.activations().stream().anyMatch(o -> o != t && overlap(o, t)));
      List<Stage> stages = new ArrayList<>(plan.forward());
      stages.addAll(plan.backward());
      int shared = 0;
      for (Stage stage : stages) {
        for (Op op : stage.ops()) {
          List<Role> roles = op.entry().roles();
          for (int i = 0; i < roles.size(); i++) {
            Arg arg = op.args().get(i);
            if (arena(arg) == Arena.ACTS && roles.get(i).kind() != Role.Kind.OUTPUT) {
              assertTrue(holding.contains(tensor(arg)), spec.interfaceName() + ": " + stage.method() + ": " + op.comment()
                  + " reads " + tensor(arg).constant() + ", which another tensor overwrote");
            }
          }
          for (int i = 0; i < roles.size(); i++) {
            Arg arg = op.args().get(i);
            if (arena(arg) == Arena.ACTS && roles.get(i).kind() == Role.Kind.OUTPUT) {
              Tensor t = tensor(arg);
              shared += holding.removeIf(h -> h != t && overlap(h, t)) ? 1 : 0;
              if (!holding.contains(t)) {
                holding.add(t);
              }
            }
          }
        }
      }
      if (spec.layers() > 1) {
        assertTrue(shared > 0, spec.interfaceName() + ": no activation shares storage");
      }
    }
  }

  /**
   * llm.c's {@code train_gpt2.c} at the same shape, from its own sizes: parameters, gradients and AdamW's two
   * moments (4·P), then its 23 activation tensors for every layer and as many activation gradients (2·A). The plan's
   * own {@link Plan#mirroredTrainingBytes} (what the javac note calls llm.c's layout) must be this figure.
   */
  static long llmcTrainingBytes(ModelSpec s) {
    long vp = Planner.paddedVocab(s.vocab());
    long c = s.dim();
    long l = s.layers();
    long b = s.batch();
    long t = s.context();
    long nh = s.heads();
    long p = vp * c + t * c + l * (12 * c * c + 13 * c) + 2 * c;
    long bt = b * t;
    long a = bt * c // encoded
        + l * (bt * c + 2 * bt + 3 * bt * c + bt * c + 2 * b * nh * t * t + bt * c + bt * c + bt * c + 2 * bt
            + 4 * bt * c + 4 * bt * c + bt * c + bt * c) // ln1, mean/rstd, qkv, atty, preatt, att, ..., residual3
        + bt * c + 2 * bt // lnf, lnf_mean, lnf_rstd
        + 2 * bt * vp + bt; // logits, probs, losses
    return 4 * (4 * p + 2 * a);
  }

  /**
   * The target: a training step's arenas at most 70% of llm.c's. Only the activations and their gradients
   * can shrink (the optimizer's numerics stay as they are), so the target is reachable only where llm.c's 4·P is
   * under 70% of its total: at tiny, baby, medium and the character model, but not at the gpt2 shape, where
   * parameters, gradients and moments alone are 76.6% of llm.c's total. There the test asserts that, and that the
   * activations and their gradients take at most half of llm.c's (they take far less).
   */
  @Test
  void trainingArenasAgainstLlmc() {
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-7s %10s %10s %10s %6s   %s%n", "shape",
        "llm.c MB", "before MB", "after MB", "ratio", "after: params+grads+moments / acts / dacts MB"));
    List<Runnable> checks = new ArrayList<>();
    for (ModelSpec spec : SHAPES) {
      Plan plan = Planner.plan(spec);
      long llmc = llmcTrainingBytes(spec);
      assertEquals(llmc, plan.mirroredTrainingBytes(), spec.interfaceName() + ": llm.c's layout is the mirrored one");
      double ratio = (double) plan.totalTrainingBytes() / llmc;
      double optimizerShare = 4.0 * plan.parameterBytes() / llmc;
      double activationShare = (double) (plan.activationBytes() + plan.activationGradientBytes())
          / (llmc - 4 * plan.parameterBytes());
      table.append(String.format(Locale.ROOT, "%-7s %10.1f %10.1f %10.1f %5.1f%%   %.1f / %.1f / %.1f%n",
          spec.interfaceName(), llmc / 1e6, plan.mirroredTrainingBytes() / 1e6, plan.totalTrainingBytes() / 1e6, 100 * ratio,
          4 * plan.parameterBytes() / 1e6, plan.activationBytes() / 1e6, plan.activationGradientBytes() / 1e6));
      checks.add(() -> {
        if (optimizerShare < 0.70) {
          assertTrue(ratio <= 0.70, spec.interfaceName() + ": " + ratio + " of llm.c's");
        } else {
          assertEquals("Gpt2", spec.interfaceName(), "the target is out of reach only at gpt2");
          assertTrue(activationShare <= 0.5, spec.interfaceName() + ": activations " + activationShare + " of llm.c's");
        }
      });
    }
    System.out.print(table);
    checks.forEach(Runnable::run);
  }

  private static Arena arena(Arg arg) {
    return switch (arg) {
      case Arg.TensorRef r -> r.arena();
      case Arg.At at -> at.arena();
      case Arg.Row r -> r.arena();
      default -> null;
    };
  }

  private static Tensor tensor(Arg arg) {
    return switch (arg) {
      case Arg.TensorRef r -> r.tensor();
      case Arg.At at -> at.tensor();
      case Arg.Row r -> r.tensor();
      default -> throw new IllegalArgumentException(arg.toString());
    };
  }

  private static boolean overlap(Tensor a, Tensor b) {
    return a.offset() < b.offset() + b.size() && b.offset() < a.offset() + a.size();
  }
}
