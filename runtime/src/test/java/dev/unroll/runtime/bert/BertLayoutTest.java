package dev.unroll.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unroll.runtime.ParamTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BertLayoutTest {

  /** The awkward shape, with two token types: V=101, T=13, C=48, NH=3, L=2, H=192, K=3. */
  static final BertShape TYPED = new BertShape(101, 13, 48, 3, 2, 3, 192, 2, 3, false, false);

  /** The same without token types. */
  static final BertShape UNTYPED = new BertShape(101, 13, 48, 3, 2, 3, 192, 0, 3, false, false);

  private static final String[] LAYER = {
      "attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",
      "attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias",
      "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
      "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
      "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"};

  /** The contract's order, written out: embeddings, each layer whole, pooler, head. */
  private static List<String> names(BertShape s) {
    List<String> names = new ArrayList<>(List.of("embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight"));
    if (s.typeVocab() > 0) {
      names.add("embeddings.token_type_embeddings.weight");
    }
    names.addAll(List.of("embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
    for (int i = 0; i < s.layers(); i++) {
      for (String kind : LAYER) {
        names.add("encoder.layer." + i + "." + kind);
      }
    }
    names.addAll(List.of("pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias"));
    return names;
  }

  @Test
  void followsTheContractsOrderWithAndWithoutTokenTypes() {
    for (BertShape s : List.of(TYPED, UNTYPED)) {
      List<ParamTensor> ts = BertLayout.tensors(s);
      assertEquals(names(s), ts.stream().map(ParamTensor::name).toList(), s.describe());
    }
  }

  @Test
  void hasHuggingFacesShapes() {
    for (BertShape s : List.of(TYPED, UNTYPED)) {
      List<ParamTensor> ts = BertLayout.tensors(s);
      int c = 48;
      int h = 192;
      for (ParamTensor t : ts) {
        String n = t.name();
        int[] want;
        if (n.equals(BertLayout.WORD)) {
          want = new int[] {101, c};
        } else if (n.equals(BertLayout.POSITION)) {
          want = new int[] {13, c};
        } else if (n.equals(BertLayout.TOKEN_TYPE)) {
          want = new int[] {2, c};
        } else if (n.equals("classifier.weight")) {
          want = new int[] {3, c};
        } else if (n.equals("classifier.bias")) {
          want = new int[] {3};
        } else if (n.endsWith("intermediate.dense.weight")) {
          want = new int[] {h, c};
        } else if (n.endsWith("intermediate.dense.bias")) {
          want = new int[] {h};
        } else if (n.endsWith(".output.dense.weight") && !n.contains("attention")) {
          want = new int[] {c, h};
        } else if (n.endsWith(".weight") && !n.contains("LayerNorm")) {
          want = new int[] {c, c}; // query, key, value, attention output, pooler
        } else {
          want = new int[] {c}; // LayerNorms and the C-wide biases
        }
        assertArrayEquals(want, t.shape(), n);
      }
    }
  }

  @Test
  void coversTheArenaWithoutGaps() {
    for (BertShape s : List.of(TYPED, UNTYPED)) {
      List<ParamTensor> ts = BertLayout.tensors(s);
      int at = 0;
      for (ParamTensor t : ts) {
        assertEquals(at, t.offset(), t.name());
        at += t.size();
      }
      int c = 48;
      int h = 192;
      int perLayer = 4 * c * c + 4 * c + 2 * c + h * c + h + c * h + c + 2 * c;
      int embeddings = (101 + 13 + s.typeVocab()) * c + 2 * c;
      assertEquals(embeddings + 2 * perLayer + c * c + c + 3 * c + 3, at);
      assertEquals(at, BertLayout.count(s));
    }
  }

  /** q, k and v weights are one (3C, C) matrix and their biases one (3C) vector: the fused qkv product's. */
  @Test
  void queryKeyAndValueAreContiguous() {
    List<ParamTensor> ts = BertLayout.tensors(TYPED);
    int c = 48;
    for (int i = 0; i < 2; i++) {
      String n = "encoder.layer." + i + ".attention.self.";
      int q = offset(ts, n + "query.weight");
      assertEquals(q + c * c, offset(ts, n + "key.weight"));
      assertEquals(q + 2 * c * c, offset(ts, n + "value.weight"));
      assertEquals(q + 3 * c * c, offset(ts, n + "query.bias"));
      assertEquals(q + 3 * c * c + c, offset(ts, n + "key.bias"));
      assertEquals(q + 3 * c * c + 2 * c, offset(ts, n + "value.bias"));
    }
  }

  @Test
  void rejectsArenasTooLargeForAnArray() {
    BertShape huge = new BertShape(30522, 512, 16384, 128, 48, 1, 4 * 16384, 2, 2, false, false);
    assertThrows(IllegalArgumentException.class, () -> BertLayout.tensors(huge));
  }

  private static int offset(List<ParamTensor> ts, String name) {
    return ts.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow().offset();
  }
}
