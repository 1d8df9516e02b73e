package dev.unroll.runtime.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unroll.runtime.ParamTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class VitLayoutTest {

  /** The awkward shape: a 3-channel 10x6 grid in 2x3 patches (10 of them), dim 48, 2 layers, 5 classes. */
  static final VitShape S = new VitShape(3, 10, 6, 2, 3, 48, 3, 2, 2, 192, 5, false, false);

  @Test
  void namesEveryTensorInTheContractsOrder() {
    List<String> expected = new ArrayList<>(List.of("embeddings.cls_token", "embeddings.position_embeddings",
        "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias"));
    for (int i = 0; i < S.layers(); i++) {
      String n = "encoder.layer." + i + ".";
      for (String kind : List.of("layernorm_before.weight", "layernorm_before.bias",
          "attention.attention.query.weight", "attention.attention.key.weight", "attention.attention.value.weight",
          "attention.attention.query.bias", "attention.attention.key.bias", "attention.attention.value.bias",
          "attention.output.dense.weight", "attention.output.dense.bias", "layernorm_after.weight",
          "layernorm_after.bias", "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight",
          "output.dense.bias")) {
        expected.add(n + kind);
      }
    }
    expected.addAll(List.of("layernorm.weight", "layernorm.bias", "classifier.weight", "classifier.bias"));
    assertEquals(expected, VitLayout.tensors(S).stream().map(ParamTensor::name).toList());
  }

  @Test
  void hasHuggingFacesShapes() {
    List<ParamTensor> ts = VitLayout.tensors(S);
    int c = S.dim();
    assertArrayEquals(new int[] {1, 1, c}, shape(ts, "embeddings.cls_token"));
    assertArrayEquals(new int[] {1, 11, c}, shape(ts, "embeddings.position_embeddings"));
    assertArrayEquals(new int[] {c, 3, 2, 3}, shape(ts, "embeddings.patch_embeddings.projection.weight"));
    assertArrayEquals(new int[] {c}, shape(ts, "embeddings.patch_embeddings.projection.bias"));
    assertArrayEquals(new int[] {c, c}, shape(ts, "encoder.layer.1.attention.attention.key.weight"));
    assertArrayEquals(new int[] {c}, shape(ts, "encoder.layer.0.attention.attention.value.bias"));
    assertArrayEquals(new int[] {c, c}, shape(ts, "encoder.layer.0.attention.output.dense.weight"));
    assertArrayEquals(new int[] {192, c}, shape(ts, "encoder.layer.1.intermediate.dense.weight"));
    assertArrayEquals(new int[] {192}, shape(ts, "encoder.layer.1.intermediate.dense.bias"));
    assertArrayEquals(new int[] {c, 192}, shape(ts, "encoder.layer.0.output.dense.weight"));
    assertArrayEquals(new int[] {c}, shape(ts, "layernorm.bias"));
    assertArrayEquals(new int[] {5, c}, shape(ts, "classifier.weight"));
    assertArrayEquals(new int[] {5}, shape(ts, "classifier.bias"));
  }

  @Test
  void coversTheArenaWithoutGaps() {
    List<ParamTensor> ts = VitLayout.tensors(S);
    assertEquals(4 + 16 * S.layers() + 4, ts.size());
    int at = 0;
    for (ParamTensor t : ts) {
      assertEquals(at, t.offset(), t.name());
      at += t.size();
    }
    int c = S.dim();
    int h = S.hidden();
    int perLayer = 2 * c + 3 * c * c + 3 * c + c * c + c + 2 * c + h * c + h + c * h + c;
    assertEquals(c + 11 * c + c * 18 + c + S.layers() * perLayer + 2 * c + 5 * c + 5, at);
    assertEquals(at, VitLayout.count(S));
  }

  @Test
  void queryKeyAndValueAreOneMatrixAndOneBias() {
    List<ParamTensor> ts = VitLayout.tensors(S);
    int c = S.dim();
    for (int i = 0; i < S.layers(); i++) {
      String n = "encoder.layer." + i + ".attention.attention.";
      int w = offset(ts, n + "query.weight");
      assertEquals(w + c * c, offset(ts, n + "key.weight"));
      assertEquals(w + 2 * c * c, offset(ts, n + "value.weight"));
      int bias = offset(ts, n + "query.bias");
      assertEquals(bias + c, offset(ts, n + "key.bias"));
      assertEquals(bias + 2 * c, offset(ts, n + "value.bias"));
    }
  }

  static int[] shape(List<ParamTensor> ts, String name) {
    return ts.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow().shape();
  }

  static int offset(List<ParamTensor> ts, String name) {
    return ts.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow().offset();
  }
}
