package dev.unroll.runtime.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.format.TestFiles;
import java.util.List;
import org.junit.jupiter.api.Test;

class Gpt2LayoutTest {

  private static final Gpt2Shape S = TestFiles.SHAPE;

  @Test
  void coversTheArenaWithoutGaps() {
    List<ParamTensor> ts = Gpt2Layout.tensors(S);
    assertEquals(2 + 12 * S.layers() + 2, ts.size());
    int at = 0;
    for (ParamTensor t : ts) {
      assertEquals(at, t.offset(), t.name());
      at += t.size();
    }
    int c = S.dim();
    int h = S.hidden();
    int perLayer = 2 * c + 3 * c * c + 3 * c + c * c + c + 2 * c + h * c + h + c * h + c;
    assertEquals(S.paddedVocab() * c + S.context() * c + S.layers() * perLayer + 2 * c, at);
    assertEquals(at, Gpt2Layout.count(S));
  }

  @Test
  void followsLlmcOrderWithKindsGroupedAcrossLayers() {
    List<ParamTensor> ts = Gpt2Layout.tensors(S);
    int c = S.dim();
    String[] expected = {
        "wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.1.ln_1.weight", "h.0.ln_1.bias", "h.1.ln_1.bias",
        "h.0.attn.c_attn.weight", "h.1.attn.c_attn.weight", "h.0.attn.c_attn.bias", "h.1.attn.c_attn.bias",
        "h.0.attn.c_proj.weight", "h.1.attn.c_proj.weight", "h.0.attn.c_proj.bias", "h.1.attn.c_proj.bias",
        "h.0.ln_2.weight", "h.1.ln_2.weight", "h.0.ln_2.bias", "h.1.ln_2.bias",
        "h.0.mlp.c_fc.weight", "h.1.mlp.c_fc.weight", "h.0.mlp.c_fc.bias", "h.1.mlp.c_fc.bias",
        "h.0.mlp.c_proj.weight", "h.1.mlp.c_proj.weight", "h.0.mlp.c_proj.bias", "h.1.mlp.c_proj.bias",
        "ln_f.weight", "ln_f.bias"};
    assertEquals(List.of(expected), ts.stream().map(ParamTensor::name).toList());
    assertArrayEquals(new int[] {S.paddedVocab(), c}, ts.get(0).shape());
    assertArrayEquals(new int[] {S.context(), c}, ts.get(1).shape());
    assertEquals(S.paddedVocab() * c + S.context() * c, ts.get(2).offset());
    assertArrayEquals(new int[] {3 * c, c}, shape(ts, "h.1.attn.c_attn.weight"));
    assertArrayEquals(new int[] {3 * c}, shape(ts, "h.0.attn.c_attn.bias"));
    assertArrayEquals(new int[] {c, c}, shape(ts, "h.0.attn.c_proj.weight"));
    assertArrayEquals(new int[] {S.hidden(), c}, shape(ts, "h.0.mlp.c_fc.weight"));
    assertArrayEquals(new int[] {S.hidden()}, shape(ts, "h.1.mlp.c_fc.bias"));
    assertArrayEquals(new int[] {c, S.hidden()}, shape(ts, "h.0.mlp.c_proj.weight"));
    assertArrayEquals(new int[] {c}, shape(ts, "ln_f.bias"));
  }

  @Test
  void namesTheConv1dWeights() {
    assertTrue(Gpt2Layout.isConv1dWeight("h.0.attn.c_attn.weight"));
    assertTrue(Gpt2Layout.isConv1dWeight("h.11.attn.c_proj.weight"));
    assertTrue(Gpt2Layout.isConv1dWeight("h.3.mlp.c_fc.weight"));
    assertTrue(Gpt2Layout.isConv1dWeight("h.3.mlp.c_proj.weight"));
    assertFalse(Gpt2Layout.isConv1dWeight("h.3.mlp.c_proj.bias"));
    assertFalse(Gpt2Layout.isConv1dWeight("wte.weight"));
    assertFalse(Gpt2Layout.isConv1dWeight("h.0.ln_1.weight"));
  }

  @Test
  void rejectsArenasTooLargeForAnArray() {
    Gpt2Shape huge = new Gpt2Shape(50257, 50304, 1024, 16384, 128, 48, 1, 4 * 16384);
    assertThrows(IllegalArgumentException.class, () -> Gpt2Layout.tensors(huge));
  }

  private static int[] shape(List<ParamTensor> ts, String name) {
    return ts.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow().shape();
  }
}
