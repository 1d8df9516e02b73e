package dev.unroll.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class LlamaLayoutTest {

  /** V=97 padded to 112, T=13, C=48, NH=6, KVH=2 (hs 8, kvDim 16), L=2, H=80. */
  static final LlamaShape UNTIED = new LlamaShape(97, 112, 13, 48, 6, 2, 2, 4, 80, false);

  static final LlamaShape TIED = new LlamaShape(97, 112, 13, 48, 6, 2, 2, 4, 80, true);

  @Test
  void followsLlama2cOrderWithKindsGroupedAcrossLayers() {
    List<ParamTensor> ts = LlamaLayout.tensors(UNTIED);
    String[] expected = {
        "model.embed_tokens.weight",
        "model.layers.0.input_layernorm.weight", "model.layers.1.input_layernorm.weight",
        "model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.weight", "model.layers.1.self_attn.k_proj.weight",
        "model.layers.0.self_attn.v_proj.weight", "model.layers.1.self_attn.v_proj.weight",
        "model.layers.0.self_attn.o_proj.weight", "model.layers.1.self_attn.o_proj.weight",
        "model.layers.0.post_attention_layernorm.weight", "model.layers.1.post_attention_layernorm.weight",
        "model.layers.0.mlp.gate_proj.weight", "model.layers.1.mlp.gate_proj.weight",
        "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight",
        "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight",
        "model.norm.weight", "lm_head.weight"};
    assertEquals(List.of(expected), ts.stream().map(ParamTensor::name).toList());
    int c = 48;
    int kv = 16;
    int h = 80;
    int[][] shapes = {
        {112, c}, {c}, {c}, {c, c}, {c, c}, {kv, c}, {kv, c}, {kv, c}, {kv, c}, {c, c}, {c, c}, {c}, {c},
        {h, c}, {h, c}, {c, h}, {c, h}, {h, c}, {h, c}, {c}, {112, c}};
    for (int i = 0; i < shapes.length; i++) {
      assertArrayEquals(shapes[i], ts.get(i).shape(), ts.get(i).name());
    }
  }

  @Test
  void coversTheArenaWithoutGaps() {
    for (LlamaShape s : new LlamaShape[] {UNTIED, TIED}) {
      int at = 0;
      for (ParamTensor t : LlamaLayout.tensors(s)) {
        assertEquals(at, t.offset(), t.name());
        at += t.size();
      }
      int c = s.dim();
      int perLayer = c + c * c + 2 * s.kvDim() * c + c * c + c + 3 * s.hidden() * c;
      int classifier = s.tiedClassifier() ? 0 : s.paddedVocab() * c;
      assertEquals(s.paddedVocab() * c + s.layers() * perLayer + c + classifier, at);
      assertEquals(at, LlamaLayout.count(s));
    }
    assertEquals(LlamaLayout.count(UNTIED) - 112 * 48, LlamaLayout.count(TIED));
    assertTrue(LlamaLayout.tensors(TIED).stream().noneMatch(t -> t.name().equals("lm_head.weight")));
  }

  @Test
  void shapeChecksItsSizes() {
    assertEquals(8, UNTIED.headSize());
    assertEquals(16, UNTIED.kvDim());
    assertThrows(IllegalArgumentException.class, () -> new LlamaShape(97, 112, 13, 48, 6, 4, 2, 4, 80, true));
    assertThrows(IllegalArgumentException.class, () -> new LlamaShape(97, 112, 13, 48, 5, 5, 2, 4, 80, true));
    assertThrows(IllegalArgumentException.class, () -> new LlamaShape(97, 96, 13, 48, 6, 2, 2, 4, 80, true));
    assertThrows(IllegalArgumentException.class, () -> new LlamaShape(97, 112, 13, 36, 12, 3, 2, 4, 80, true));
    assertThrows(IllegalArgumentException.class, () -> new LlamaShape(97, 112, 0, 48, 6, 2, 2, 4, 80, true));
  }

  @Test
  void refusesArenasLargerThanAnArray() {
    LlamaShape huge = new LlamaShape(32000, 32000, 2048, 8192, 64, 8, 80, 1, 28672, false);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaLayout.tensors(huge));
    assertTrue(e.getMessage().contains("more parameters than a Java array can hold"), e.getMessage());
  }
}
