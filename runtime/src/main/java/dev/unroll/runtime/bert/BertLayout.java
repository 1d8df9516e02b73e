package dev.unroll.runtime.bert;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.family.ArenaBuilder;
import java.util.List;

/**
 * The BERT parameter arena with Hugging Face's names (those of {@code BertModel}, without the {@code bert.} prefix
 * that {@code BertForSequenceClassification} adds, and its {@code classifier.*}) and shapes: the one place in the
 * runtime that says where each BERT parameter lives.
 *
 * <p>Order (V = vocab, T = context, TV = typeVocab, C = dim, H = hidden, K = classes), one layer's tensors all
 * together before the next layer's:
 * <ol>
 *   <li>{@code embeddings.word_embeddings.weight (V,C)}, {@code embeddings.position_embeddings.weight (T,C)},
 *       {@code embeddings.token_type_embeddings.weight (TV,C)} (only when typeVocab &gt; 0),
 *       {@code embeddings.LayerNorm.weight (C)}, {@code embeddings.LayerNorm.bias (C)}
 *   <li>for each layer i, named {@code encoder.layer.<i>.<kind>}: {@code attention.self.query.weight (C,C)},
 *       {@code attention.self.key.weight (C,C)}, {@code attention.self.value.weight (C,C)},
 *       {@code attention.self.query.bias (C)}, {@code attention.self.key.bias (C)},
 *       {@code attention.self.value.bias (C)}, {@code attention.output.dense.weight (C,C)},
 *       {@code attention.output.dense.bias (C)}, {@code attention.output.LayerNorm.weight (C)},
 *       {@code attention.output.LayerNorm.bias (C)}, {@code intermediate.dense.weight (H,C)},
 *       {@code intermediate.dense.bias (H)}, {@code output.dense.weight (C,H)}, {@code output.dense.bias (C)},
 *       {@code output.LayerNorm.weight (C)}, {@code output.LayerNorm.bias (C)}
 *   <li>{@code pooler.dense.weight (C,C)}, {@code pooler.dense.bias (C)}, {@code classifier.weight (K,C)},
 *       {@code classifier.bias (K)}
 * </ol>
 * Matrices are (out, in), as Hugging Face's {@code nn.Linear} stores them. The query, key and value weights lie
 * one after another, and so do their biases: together they are the (3C, C) matrix and (3C) bias of one fused qkv
 * product, whose output holds q, k and v side by side as the attention kernel reads them.
 */
public final class BertLayout {

  /** The word (token) embedding. */
  public static final String WORD = "embeddings.word_embeddings.weight";

  /** The position embedding, {@code context} rows. */
  public static final String POSITION = "embeddings.position_embeddings.weight";

  /** The token-type (segment) embedding; absent when typeVocab is 0. */
  public static final String TOKEN_TYPE = "embeddings.token_type_embeddings.weight";

  /** The classification head's weight and bias: what a plain {@code BertModel} checkpoint lacks. */
  public static final String CLASSIFIER_WEIGHT = "classifier.weight";
  public static final String CLASSIFIER_BIAS = "classifier.bias";

  /** Per-layer kinds, in arena order. */
  private static final String[] LAYER_KINDS = {
      "attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",
      "attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias",
      "attention.output.dense.weight", "attention.output.dense.bias",
      "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
      "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight", "output.dense.bias",
      "output.LayerNorm.weight", "output.LayerNorm.bias"};

  private BertLayout() {}

  /**
   * Every parameter tensor of a BERT model of this shape, in arena order, covering the arena without gaps.
   *
   * @throws IllegalArgumentException when the model has more parameters than a Java array can hold
   */
  public static List<ParamTensor> tensors(BertShape s) {
    int c = s.dim();
    ArenaBuilder arena = new ArenaBuilder("a BERT model with " + s.describe());
    arena.add(WORD, s.vocab(), c);
    arena.add(POSITION, s.context(), c);
    if (s.typeVocab() > 0) {
      arena.add(TOKEN_TYPE, s.typeVocab(), c);
    }
    arena.add("embeddings.LayerNorm.weight", c);
    arena.add("embeddings.LayerNorm.bias", c);
    for (int i = 0; i < s.layers(); i++) {
      for (String kind : LAYER_KINDS) {
        arena.add(layerName(i, kind), layerShape(s, kind));
      }
    }
    arena.add("pooler.dense.weight", c, c);
    arena.add("pooler.dense.bias", c);
    arena.add(CLASSIFIER_WEIGHT, s.classes(), c);
    arena.add(CLASSIFIER_BIAS, s.classes());
    return arena.build();
  }

  /** Number of floats in the arena: the sum of every tensor's size. */
  public static int count(BertShape s) {
    ParamTensor last = tensors(s).getLast();
    return last.offset() + last.size();
  }

  /** {@code encoder.layer.<layer>.<kind>}. */
  public static String layerName(int layer, String kind) {
    return "encoder.layer." + layer + "." + kind;
  }

  private static int[] layerShape(BertShape s, String kind) {
    int c = s.dim();
    int h = s.hidden();
    return switch (kind) {
      case "intermediate.dense.weight" -> new int[] {h, c};
      case "intermediate.dense.bias" -> new int[] {h};
      case "output.dense.weight" -> new int[] {c, h};
      default -> kind.endsWith("weight") && !kind.contains("LayerNorm") ? new int[] {c, c} : new int[] {c};
    };
  }
}
