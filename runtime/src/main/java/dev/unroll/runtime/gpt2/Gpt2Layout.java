package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.family.ArenaBuilder;
import java.util.List;

/**
 * The GPT-2 parameter arena, laid out as llm.c lays it out, with Hugging Face names: the one place in the runtime
 * that says where each GPT-2 parameter lives.
 *
 * <p>Order (C = dim, L = layers, Vp = padded vocab, T = context, H = hidden): {@code wte (Vp,C)} (rows V..Vp are
 * padding), {@code wpe (T,C)}, then each per-layer kind for all layers before the next kind: {@code ln_1.weight (C)},
 * {@code ln_1.bias (C)}, {@code attn.c_attn.weight (3C,C)}, {@code attn.c_attn.bias (3C)},
 * {@code attn.c_proj.weight (C,C)}, {@code attn.c_proj.bias (C)}, {@code ln_2.weight (C)}, {@code ln_2.bias (C)},
 * {@code mlp.c_fc.weight (H,C)}, {@code mlp.c_fc.bias (H)}, {@code mlp.c_proj.weight (C,H)},
 * {@code mlp.c_proj.bias (C)}; then {@code ln_f.weight (C)}, {@code ln_f.bias (C)}. Matrices are (out, in).
 * Per-layer tensors are named {@code h.<i>.<kind>}, so the list goes {@code wte.weight, wpe.weight,
 * h.0.ln_1.weight, h.1.ln_1.weight, ..., h.0.ln_1.bias, ...}.
 */
public final class Gpt2Layout {

  /** Per-layer kinds, in arena order. */
  private static final String[] LAYER_KINDS = {
      "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
      "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};

  private Gpt2Layout() {}

  /**
   * Every parameter tensor of a GPT-2 model of this shape, in arena order, covering the arena without gaps.
   *
   * @throws IllegalArgumentException when the model has more parameters than a Java array can hold
   */
  public static List<ParamTensor> tensors(Gpt2Shape s) {
    int c = s.dim();
    ArenaBuilder arena = new ArenaBuilder("a GPT-2 model with " + s.describe());
    if (3L * c > Integer.MAX_VALUE) {
      throw arena.tooLarge();
    }
    arena.add("wte.weight", s.paddedVocab(), c);
    arena.add("wpe.weight", s.context(), c);
    for (String kind : LAYER_KINDS) {
      int[] shape = layerShape(s, kind);
      for (int i = 0; i < s.layers(); i++) {
        arena.add("h." + i + "." + kind, shape);
      }
    }
    arena.add("ln_f.weight", c);
    arena.add("ln_f.bias", c);
    return arena.build();
  }

  /** Number of floats in the arena: the sum of every tensor's size. */
  public static int count(Gpt2Shape s) {
    ParamTensor last = tensors(s).getLast();
    return last.offset() + last.size();
  }

  /**
   * Whether {@code name} is one of the four weights that Hugging Face's GPT-2 keeps in {@code Conv1D} modules,
   * stored as (in, out) rather than the arena's (out, in): {@code attn.c_attn}, {@code attn.c_proj},
   * {@code mlp.c_fc}, {@code mlp.c_proj}.
   */
  public static boolean isConv1dWeight(String name) {
    return name.startsWith("h.") && (name.endsWith(".attn.c_attn.weight") || name.endsWith(".attn.c_proj.weight")
        || name.endsWith(".mlp.c_fc.weight") || name.endsWith(".mlp.c_proj.weight"));
  }

  private static int[] layerShape(Gpt2Shape s, String kind) {
    int c = s.dim();
    int h = s.hidden();
    return switch (kind) {
      case "attn.c_attn.weight" -> new int[] {3 * c, c};
      case "attn.c_attn.bias" -> new int[] {3 * c};
      case "attn.c_proj.weight" -> new int[] {c, c};
      case "mlp.c_fc.weight" -> new int[] {h, c};
      case "mlp.c_fc.bias" -> new int[] {h};
      case "mlp.c_proj.weight" -> new int[] {c, h};
      default -> new int[] {c}; // layer norms and the C-wide biases
    };
  }
}
