package dev.unroll.runtime.vit;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.family.ArenaBuilder;
import java.util.List;

/**
 * The ViT parameter arena, with Hugging Face {@code ViTForImageClassification}'s names (without the {@code vit.}
 * prefix) and the shapes it stores: the one place in the runtime that says where each ViT parameter lives.
 *
 * <p>Order (C = dim, T = patches + 1, CH/PH/PW = channels and patch size, H = hidden, K = classes), each layer's
 * tensors together, layer after layer:
 * <ol>
 *   <li>{@code embeddings.cls_token (1,1,C)}, {@code embeddings.position_embeddings (1,T,C)}
 *   <li>{@code embeddings.patch_embeddings.projection.weight (C,CH,PH,PW)}: Hugging Face's Conv2d weight, which in
 *       the arena is the (C, CH·PH·PW) matrix that multiplies a patch flattened in (ch, dy, dx) order
 *   <li>{@code embeddings.patch_embeddings.projection.bias (C)}
 *   <li>for each layer i, prefixed {@code encoder.layer.<i>.}: {@code layernorm_before.weight (C)},
 *       {@code layernorm_before.bias (C)}, {@code attention.attention.query.weight (C,C)}, {@code key.weight},
 *       {@code value.weight}, then {@code query.bias (C)}, {@code key.bias}, {@code value.bias} (so that the three
 *       weights are one (3C,C) matrix and the three biases one (3C) vector, for one fused matmul),
 *       {@code attention.output.dense.weight (C,C)}, {@code attention.output.dense.bias (C)},
 *       {@code layernorm_after.weight (C)}, {@code layernorm_after.bias (C)}, {@code intermediate.dense.weight (H,C)},
 *       {@code intermediate.dense.bias (H)}, {@code output.dense.weight (C,H)}, {@code output.dense.bias (C)}
 *   <li>{@code layernorm.weight (C)}, {@code layernorm.bias (C)}
 *   <li>{@code classifier.weight (K,C)}, {@code classifier.bias (K)}
 * </ol>
 * Matrices are (out, in), as Hugging Face's Linear weights are.
 */
public final class VitLayout {

  /** The learned class token. */
  public static final String CLS_TOKEN = "embeddings.cls_token";

  /** The position table, one row per position: the class token's, then the patches'. */
  public static final String POSITIONS = "embeddings.position_embeddings";

  /** The patch projection's weight. */
  public static final String PATCH_WEIGHT = "embeddings.patch_embeddings.projection.weight";

  /** The patch projection's bias. */
  public static final String PATCH_BIAS = "embeddings.patch_embeddings.projection.bias";

  /** The classification head's weight and bias start with this. */
  public static final String CLASSIFIER = "classifier.";

  /** Per-layer kinds, in arena order. */
  private static final String[] LAYER_KINDS = {
      "layernorm_before.weight", "layernorm_before.bias", "attention.attention.query.weight",
      "attention.attention.key.weight", "attention.attention.value.weight", "attention.attention.query.bias",
      "attention.attention.key.bias", "attention.attention.value.bias", "attention.output.dense.weight",
      "attention.output.dense.bias", "layernorm_after.weight", "layernorm_after.bias", "intermediate.dense.weight",
      "intermediate.dense.bias", "output.dense.weight", "output.dense.bias"};

  private VitLayout() {}

  /**
   * Every parameter tensor of a ViT model of this shape, in arena order, covering the arena without gaps.
   *
   * @throws IllegalArgumentException when the model has more parameters than a Java array can hold
   */
  public static List<ParamTensor> tensors(VitShape s) {
    int c = s.dim();
    ArenaBuilder arena = new ArenaBuilder("a ViT model with " + s.describe());
    arena.add(CLS_TOKEN, 1, 1, c);
    arena.add(POSITIONS, 1, s.context(), c);
    arena.add(PATCH_WEIGHT, c, s.channels(), s.patchHeight(), s.patchWidth());
    arena.add(PATCH_BIAS, c);
    for (int i = 0; i < s.layers(); i++) {
      for (String kind : LAYER_KINDS) {
        arena.add(layerName(i, kind), layerShape(s, kind));
      }
    }
    arena.add("layernorm.weight", c);
    arena.add("layernorm.bias", c);
    arena.add(CLASSIFIER + "weight", s.classes(), c);
    arena.add(CLASSIFIER + "bias", s.classes());
    return arena.build();
  }

  /** Number of floats in the arena: the sum of every tensor's size. */
  public static int count(VitShape s) {
    ParamTensor last = tensors(s).getLast();
    return last.offset() + last.size();
  }

  /** {@code encoder.layer.<layer>.<kind>}. */
  static String layerName(int layer, String kind) {
    return "encoder.layer." + layer + "." + kind;
  }

  private static int[] layerShape(VitShape s, String kind) {
    int c = s.dim();
    int h = s.hidden();
    return switch (kind) {
      case "attention.attention.query.weight", "attention.attention.key.weight", "attention.attention.value.weight",
          "attention.output.dense.weight" -> new int[] {c, c};
      case "intermediate.dense.weight" -> new int[] {h, c};
      case "intermediate.dense.bias" -> new int[] {h};
      case "output.dense.weight" -> new int[] {c, h};
      default -> new int[] {c}; // the layer norms and the C-wide biases
    };
  }
}
