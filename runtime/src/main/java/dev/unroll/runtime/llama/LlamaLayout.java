package dev.unroll.runtime.llama;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.family.ArenaBuilder;
import java.util.List;

/**
 * The LLAMA parameter arena: llama2.c's weight order, with Hugging Face Llama names. The one place in the runtime
 * that says where each LLAMA parameter lives.
 *
 * <p>Order (C = dim, L = layers, Vp = padded vocab, H = hidden, KV = kvDim), each per-layer kind for all layers
 * before the next kind, as llama2.c's {@code TransformerWeights} are laid out:
 * <ol>
 *   <li>{@code model.embed_tokens.weight (Vp,C)}: rows V..Vp are zero padding
 *   <li>{@code model.layers.<i>.input_layernorm.weight (C)} (llama2.c {@code rms_att_weight})
 *   <li>{@code model.layers.<i>.self_attn.q_proj.weight (C,C)} ({@code wq})
 *   <li>{@code model.layers.<i>.self_attn.k_proj.weight (KV,C)} ({@code wk})
 *   <li>{@code model.layers.<i>.self_attn.v_proj.weight (KV,C)} ({@code wv})
 *   <li>{@code model.layers.<i>.self_attn.o_proj.weight (C,C)} ({@code wo})
 *   <li>{@code model.layers.<i>.post_attention_layernorm.weight (C)} ({@code rms_ffn_weight})
 *   <li>{@code model.layers.<i>.mlp.gate_proj.weight (H,C)} ({@code w1})
 *   <li>{@code model.layers.<i>.mlp.down_proj.weight (C,H)} ({@code w2})
 *   <li>{@code model.layers.<i>.mlp.up_proj.weight (H,C)} ({@code w3})
 *   <li>{@code model.norm.weight (C)} ({@code rms_final_weight})
 *   <li>{@code lm_head.weight (Vp,C)} ({@code wcls}), only when the classifier is not tied; rows V..Vp are zero
 * </ol>
 * Matrices are (out, in). The rows of {@code q_proj} and {@code k_proj} are in llama2.c's order, in which RoPE
 * rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face stores them permuted (see {@link LlamaCheckpoints}).
 */
public final class LlamaLayout {

  /** The token embedding (and, when tied, the classifier). */
  public static final String EMBEDDING = "model.embed_tokens.weight";

  /** The final RMSNorm's weight. */
  public static final String FINAL_NORM = "model.norm.weight";

  /** The untied classifier. */
  public static final String CLASSIFIER = "lm_head.weight";

  /** Per-layer kinds, in arena order (llama2.c's). */
  private static final String[] LAYER_KINDS = {
      "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
      "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.down_proj.weight",
      "mlp.up_proj.weight"};

  private LlamaLayout() {}

  /**
   * Every parameter tensor of a LLAMA model of this shape, in arena order, covering the arena without gaps.
   *
   * @throws IllegalArgumentException when the model has more parameters than a Java array can hold
   */
  public static List<ParamTensor> tensors(LlamaShape s) {
    ArenaBuilder arena = new ArenaBuilder("a LLAMA model with " + s.describe());
    int c = s.dim();
    arena.add(EMBEDDING, s.paddedVocab(), c);
    for (String kind : LAYER_KINDS) {
      int[] shape = layerShape(s, kind);
      for (int i = 0; i < s.layers(); i++) {
        arena.add(layerName(i, kind), shape);
      }
    }
    arena.add(FINAL_NORM, c);
    if (!s.tiedClassifier()) {
      arena.add(CLASSIFIER, s.paddedVocab(), c);
    }
    return arena.build();
  }

  /** Number of floats in the arena: the sum of every tensor's size. */
  public static int count(LlamaShape s) {
    ParamTensor last = tensors(s).getLast();
    return last.offset() + last.size();
  }

  /** {@code model.layers.<layer>.<kind>}. */
  static String layerName(int layer, String kind) {
    return "model.layers." + layer + "." + kind;
  }

  /**
   * How many heads a tensor's rows hold when Hugging Face permutes them for its rotate-half RoPE: the query heads
   * for {@code q_proj}, the kv heads for {@code k_proj}; 0 for every other tensor.
   */
  static int ropeHeads(String name, LlamaShape s) {
    if (name.startsWith("model.layers.")) {
      if (name.endsWith(".self_attn.q_proj.weight")) {
        return s.heads();
      }
      if (name.endsWith(".self_attn.k_proj.weight")) {
        return s.kvHeads();
      }
    }
    return 0;
  }

  private static int[] layerShape(LlamaShape s, String kind) {
    int c = s.dim();
    int h = s.hidden();
    return switch (kind) {
      case "self_attn.q_proj.weight", "self_attn.o_proj.weight" -> new int[] {c, c};
      case "self_attn.k_proj.weight", "self_attn.v_proj.weight" -> new int[] {s.kvDim(), c};
      case "mlp.gate_proj.weight", "mlp.up_proj.weight" -> new int[] {h, c};
      case "mlp.down_proj.weight" -> new int[] {c, h};
      default -> new int[] {c}; // the RMSNorm weights
    };
  }
}
