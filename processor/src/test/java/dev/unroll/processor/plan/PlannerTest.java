package dev.unroll.processor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.Family;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.bert.BertLayout;
import dev.unroll.runtime.bert.BertShape;
import dev.unroll.runtime.gpt2.Gpt2Layout;
import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.runtime.llama.LlamaLayout;
import dev.unroll.runtime.llama.LlamaShape;
import dev.unroll.runtime.vit.VitLayout;
import dev.unroll.runtime.vit.VitShape;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The plan is plain data: offsets, sizes, FLOPs and bytes, checked without a compiler. */
class PlannerTest {
  static final ModelSpec GPT2_124M = ModelSpec.gpt2("Gpt2", 50257, 1024, 768, 12, 12, 1);
  static final ModelSpec AWKWARD = ModelSpec.gpt2("Awkward", 97, 13, 48, 3, 2, 3);

  @Test
  void specsUnderTestAreValid() {
    assertEquals(List.of(), dev.unroll.processor.validate.SpecValidator.validate(GPT2_124M));
    assertEquals(List.of(), dev.unroll.processor.validate.SpecValidator.validate(AWKWARD));
  }

  /**
   * The planner decides which shapes get an int8 decode from its own copy of the runtime's group size (the
   * processor does not depend on the runtime): the two must agree, and a shape with widths of whole groups gets the
   * int8 stages while one without does not.
   */
  @Test
  void int8DecodeFollowsTheRuntimesGroupSize() {
    assertEquals(dev.unroll.runtime.number.Int8.GROUP, PlanBuilder.INT8_GROUP);
    assertTrue(!Planner.plan(GPT2_124M).decodeInt8().isEmpty());
    assertEquals(List.of(), Planner.plan(AWKWARD).decodeInt8());
  }

  @Test
  void gpt2SmallHasItsKnownParameterCount() {
    Plan plan = Planner.plan(GPT2_124M);
    assertEquals(50272, plan.paddedVocab());
    assertEquals(124_439_808L, plan.trainableParameters());
    assertEquals(124_439_808 + 15 * 768, plan.parameterCount());
    assertEquals(4L * plan.parameterCount(), plan.parameterBytes());
  }

  @Test
  void tensorsTileTheirArenasWithoutGapsOrOverlap() {
    for (ModelSpec spec : List.of(GPT2_124M, AWKWARD)) {
      Plan plan = Planner.plan(spec);
      assertTiled(plan.parameters(), plan.parameterCount());
      assertTiled(plan.activations(), plan.activationCount());
      ArenaSizes sizes = ArenaSizes.of(spec);
      assertEquals(sizes.parameters(), plan.parameterCount(), "layout counted vs placed, parameters");
      assertEquals(sizes.activations(), plan.activationCount(), "layout counted vs placed, activations");
    }
  }

  /**
   * Sizing counts one layer and multiplies: an arena is affine in the number of layers, so the sizes of two
   * billion layers follow from the plans of one and two, and reaching them costs no more than one layer.
   */
  @Test
  void sizingCountsAnyNumberOfLayersExactly() {
    for (boolean llama : List.of(false, true)) {
      ModelSpec[] specs = new ModelSpec[3];
      int[] layers = {1, 2, Integer.MAX_VALUE};
      for (int k = 0; k < 3; k++) {
        specs[k] = llama ? ModelSpec.llama("L", 97, 13, 48, 6, 2, layers[k], 3, false)
            : ModelSpec.gpt2("G", 97, 13, 48, 3, layers[k], 3);
      }
      Plan one = Planner.plan(specs[0]);
      Plan two = Planner.plan(specs[1]);
      ArenaSizes huge = ArenaSizes.of(specs[2]);
      long perLayer = two.parameterCount() - one.parameterCount();
      assertEquals(one.parameterCount() + (Integer.MAX_VALUE - 1L) * perLayer, huge.parameters());
      perLayer = two.activationCount() - one.activationCount();
      assertEquals(one.activationCount() + (Integer.MAX_VALUE - 1L) * perLayer, huge.activations());
    }
  }

  /** Past {@code Long.MAX_VALUE} sizing saturates: it never wraps into a size that looks valid. */
  @Test
  void sizesSaturate() {
    int max = Integer.MAX_VALUE;
    for (Family family : List.of(Family.GPT2, Family.LLAMA)) {
      ModelSpec enormous = new ModelSpec("p", "M", "UnrolledM", family, max, max, 1 << 30, 2, max, max, max, 2,
          false);
      assertEquals(new ArenaSizes(Long.MAX_VALUE, Long.MAX_VALUE), ArenaSizes.of(enormous));
      ModelSpec tooWide = new ModelSpec("p", "M", "UnrolledM", family, 50257, 64, 65536, 1, 2, 1, 4 * 65536, 1,
          true);
      // GPT-2: Vp·C + T·C + L·(4·C² + 2·H·C + 9·C + H) + 2·C; Llama: Vp·C + C + L·(4·C² + 3·H·C + 2·C) (kv = C).
      assertEquals(family == Family.GPT2 ? 106_379_870_208L : 140_733_906_944L, ArenaSizes.of(tooWide).parameters());
    }
  }

  /** A layer's tensor: its layer and its name without the layer. */
  private static final Pattern LAYER_TENSOR = Pattern.compile("L([1-9][0-9]*)_(.*)");

  /**
   * The tensors follow one another from offset 0 to {@code count}, except a later layer's copy of a layer's scratch
   * ({@link PlanBuilder#layerScratch}), which sits at layer 0's floats with layer 0's dimensions.
   */
  private static void assertTiled(List<Tensor> tensors, int count) {
    int next = 0;
    Map<String, Tensor> names = new HashMap<>();
    for (Tensor t : tensors) {
      assertTrue(names.put(t.constant(), t) == null, "duplicate " + t.constant());
      Matcher layer = LAYER_TENSOR.matcher(t.constant());
      Tensor first = layer.matches() ? names.get("L0_" + layer.group(2)) : null;
      if (first != null && first.offset() == t.offset()) {
        assertEquals(first.dims(), t.dims(), t.constant());
        continue;
      }
      assertEquals(next, t.offset(), t.constant());
      next += t.size();
    }
    assertEquals(count, next);
  }

  @Test
  void awkwardOffsetsAreLlmcOrder() {
    Plan plan = Planner.plan(AWKWARD);
    int c = 48;
    int vp = 112;
    assertEquals(0, plan.parameter("WTE").offset());
    assertEquals(vp * c, plan.parameter("WPE").offset());
    int ln1w = vp * c + 13 * c;
    assertEquals(ln1w, plan.parameter("L0_LN1W").offset());
    assertEquals(ln1w + c, plan.parameter("L1_LN1W").offset());
    assertEquals(ln1w + 2 * c, plan.parameter("L0_LN1B").offset());
    assertEquals(ln1w + 4 * c, plan.parameter("L0_QKVW").offset());
    assertEquals(ln1w + 4 * c + 3 * c * c, plan.parameter("L1_QKVW").offset());
    assertEquals("h.1.attn.c_attn.weight", plan.parameter("L1_QKVW").name());
    assertEquals("(3*C, C) = (144, 48)", plan.parameter("L1_QKVW").shapeDoc());
  }

  @Test
  void parameterLayoutIsTheRuntimes() {
    for (ModelSpec spec : List.of(GPT2_124M, AWKWARD, ModelSpec.gpt2("H", 11, 5, 8, 2, 2, 2),
        new ModelSpec("p", "W", "UnrolledW", Family.GPT2, 65, 7, 12, 3, 1, 1, 20, 3, true))) {
      Plan plan = Planner.plan(spec);
      assertSameLayout(Gpt2Layout.tensors(new Gpt2Shape(spec.vocab(), plan.paddedVocab(), spec.context(), spec.dim(),
          spec.heads(), spec.layers(), spec.batch(), spec.hidden())), plan);
    }
  }

  /** The runtime's tensors are the plan's parameters: the same names, offsets and shapes, in the same order. */
  private static void assertSameLayout(List<ParamTensor> runtime, Plan plan) {
    assertEquals(runtime.stream().map(ParamTensor::name).toList(),
        plan.parameters().stream().map(Tensor::name).toList());
    for (int i = 0; i < runtime.size(); i++) {
      ParamTensor r = runtime.get(i);
      Tensor t = plan.parameters().get(i);
      assertEquals(r.offset(), t.offset(), r.name());
      assertEquals(Arrays.stream(r.shape()).boxed().toList(), t.dims(), r.name());
    }
  }

  @Test
  void llamaLayoutIsTheRuntimes() {
    for (ModelSpec spec : List.of(ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true),
        ModelSpec.llama("A", 97, 13, 48, 6, 2, 2, 3, false), ModelSpec.llama("M", 11, 5, 8, 2, 1, 2, 2, false),
        ModelSpec.llama("E", 50, 9, 64, 4, 2, 2, 2, true),
        new ModelSpec("p", "W", "UnrolledW", Family.LLAMA, 33, 4, 16, 2, 3, 1, 40, 1, false))) {
      Plan plan = Planner.plan(spec);
      var shape = new LlamaShape(spec.vocab(), plan.paddedVocab(), spec.context(), spec.dim(), spec.heads(),
          spec.kvHeads(), spec.layers(), spec.batch(), spec.hidden(), spec.tiedClassifier());
      assertSameLayout(LlamaLayout.tensors(shape), plan);
      assertTiled(plan.parameters(), plan.parameterCount());
      assertTiled(plan.activations(), plan.activationCount());
      ArenaSizes sizes = ArenaSizes.of(spec);
      assertEquals(sizes.parameters(), plan.parameterCount());
      assertEquals(sizes.activations(), plan.activationCount());
    }
  }

  @Test
  void encoderLayoutsAreTheRuntimes() {
    for (ModelSpec spec : List.of(
        ModelSpec.bert("B", 101, 13, 48, 3, 2, 3, ModelSpec.Encoding.bert(3, true, true, 2)),
        ModelSpec.bert("N", 11, 5, 8, 2, 2, 3, ModelSpec.Encoding.bert(3, false, false, 0)),
        ModelSpec.bert("Base", 30522, 512, 768, 12, 12, 8, ModelSpec.Encoding.bert(2, false, false, 2)))) {
      Plan plan = Planner.plan(spec);
      var e = spec.encoder();
      assertSameLayout(BertLayout.tensors(new BertShape(spec.vocab(), spec.context(), spec.dim(), spec.heads(),
          spec.layers(), spec.batch(), spec.hidden(), e.typeVocab(), e.classes(), e.meanPooling(), e.normalize())),
          plan);
      assertEncoderArenas(spec, plan);
    }
    for (ModelSpec spec : List.of(
        ModelSpec.vit("V", 48, 3, 2, 2, ModelSpec.Encoding.vit(5, false, false, 3, 10, 6, 2, 3)),
        ModelSpec.vit("Tiny", 192, 3, 12, 8, ModelSpec.Encoding.vit(1000, false, false, 3, 224, 224, 16, 16)))) {
      Plan plan = Planner.plan(spec);
      var e = spec.encoder();
      assertSameLayout(VitLayout.tensors(new VitShape(e.channels(), e.height(), e.width(), e.patchHeight(),
          e.patchWidth(), spec.dim(), spec.heads(), spec.layers(), spec.batch(), spec.hidden(), e.classes(),
          e.meanPooling(), e.normalize())), plan);
      assertEncoderArenas(spec, plan);
    }
  }

  /** An encoder's arenas are tiled, counted alike by ArenaSizes, and hold no KV cache nor decode stages. */
  private static void assertEncoderArenas(ModelSpec spec, Plan plan) {
    assertTiled(plan.parameters(), plan.parameterCount());
    assertTiled(plan.activations(), plan.activationCount());
    ArenaSizes sizes = ArenaSizes.of(spec);
    assertEquals(sizes.parameters(), plan.parameterCount(), spec.describe());
    assertEquals(sizes.activations(), plan.activationCount(), spec.describe());
    assertEquals(List.of(), plan.decode());
    assertEquals(List.of(), plan.kvCache());
    assertEquals(0, plan.kvCount());
    assertEquals(plan.parameterCount(), plan.trainableParameters(), "no padded rows");
  }

  /**
   * Every constant a stage's sizes and offsets name is one every model declares or one the plan lists as the
   * family's own, with the value the stages use: what the writer prints is what the kernels are called with.
   */
  @Test
  void stagesNameOnlyDeclaredDimensions() {
    Set<String> shared = Set.of("VOCAB", "PADDED_VOCAB", "CONTEXT", "DIM", "HEADS", "HEAD_SIZE", "LAYERS", "BATCH",
        "HIDDEN", "TOKENS");
    ModelSpec llama = ModelSpec.llama("A", 97, 13, 48, 6, 2, 2, 3, false);
    assertEquals(List.of(new Plan.Dimension("KV_HEADS", 2, "Key/value heads (kvHeads)."),
        new Plan.Dimension("KV_DIM", 16, "KV_HEADS * HEAD_SIZE: the width of a key or a value."),
        new Plan.Dimension("QKV_WIDTH", 80, "DIM + 2 * KV_DIM: q, k and v side by side.")),
        Planner.plan(llama).familyDimensions());
    assertEquals(List.of(), Planner.plan(AWKWARD).familyDimensions());
    ModelSpec bert = ModelSpec.bert("B", 101, 13, 48, 3, 2, 3, ModelSpec.Encoding.bert(3, true, true, 2));
    ModelSpec vit = ModelSpec.vit("V", 48, 3, 2, 2, ModelSpec.Encoding.vit(5, false, false, 3, 10, 6, 2, 3));
    for (ModelSpec spec : List.of(AWKWARD, llama, bert, vit)) {
      Plan plan = Planner.plan(spec);
      Set<String> declared = new HashSet<>(shared);
      if (spec.family().encoder()) {
        // an encoder's class declares no padded vocabulary, and ViT's no vocabulary at all
        declared.remove("PADDED_VOCAB");
        if (spec.family() == Family.VIT) {
          declared.remove("VOCAB");
        }
      }
      plan.familyDimensions().forEach(d -> declared.add(d.name()));
      for (Stage stage : allStages(plan)) {
        for (Op op : stage.ops()) {
          for (Arg arg : op.args()) {
            String expression = switch (arg) {
              case Arg.Size size -> size.expression();
              case Arg.At at -> at.offset();
              case Arg.Row row -> row.rowSize();
              default -> "";
            };
            for (String name : expression.split("[^A-Z_]+")) {
              assertTrue(name.isEmpty() || declared.contains(name), name + " in " + op);
            }
            if (arg instanceof Arg.Size size) {
              plan.familyDimensions().stream().filter(d -> d.name().equals(size.expression()))
                  .forEach(d -> assertEquals(d.value(), size.value(), d.name()));
            }
          }
        }
      }
    }
  }

  private static List<Stage> allStages(Plan plan) {
    List<Stage> stages = new java.util.ArrayList<>(plan.forward());
    stages.addAll(plan.backward());
    stages.addAll(plan.decode());
    stages.addAll(plan.decodeBf16());
    stages.addAll(plan.decodeInt8());
    return stages;
  }

  /**
   * The generated SHAPE constant calls the runtime shape's canonical constructor: an argument per component, in
   * order, each the dimension constant of that name ({@code paddedVocab} is PADDED_VOCAB) or, for the classifier's
   * tying, the spec's value.
   */
  @Test
  void runtimeShapeArgumentsAreTheShapesComponents() throws ReflectiveOperationException {
    for (ModelSpec spec : List.of(AWKWARD, ModelSpec.llama("A", 97, 13, 48, 6, 2, 2, 3, false),
        ModelSpec.llama("T", 97, 13, 48, 6, 2, 2, 3, true))) {
      Class<?> shape = Class.forName(Families.of(spec.family()).runtimeShape());
      List<String> expected = Arrays.stream(shape.getRecordComponents())
          .map(c -> c.getType() == boolean.class ? String.valueOf(spec.tiedClassifier())
              : c.getName().replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT))
          .toList();
      assertEquals(expected, Planner.plan(spec).runtimeShape().arguments(), spec.describe());
    }
  }

  @Test
  void stories15mHasItsKnownParameterCount() {
    Plan plan = Planner.plan(ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true));
    // llama2.c's stories15M: 15,191,712 weights without the RoPE tables.
    assertEquals(15_191_712L, plan.trainableParameters());
  }

  @Test
  void flopsFollowTheSharedFormula() {
    Plan plan = Planner.plan(AWKWARD);
    long n = plan.trainableParameters();
    assertEquals(6 * n * 39 + 12L * 2 * 48 * 3 * 13 * 13, plan.trainingFlopsPerStep());
    assertEquals(plan.trainingFlopsPerStep() / 3, plan.forwardFlopsPerStep());
    assertEquals(4 * plan.parameterBytes() + plan.activationBytes() + plan.activationGradientBytes(),
        plan.totalTrainingBytes());
  }

  @Test
  void forwardAndBackwardAreMirrorImages() {
    Plan plan = Planner.plan(AWKWARD);
    List<String> forward = plan.forward().stream().map(Stage::method).toList();
    List<String> backward = plan.backward().stream().map(Stage::method).toList();
    assertEquals(List.of("forwardEmbedding", "forwardLayer0", "forwardLayer1", "forwardHead"), forward);
    assertEquals(List.of("backwardHead", "backwardLayer1", "backwardLayer0", "backwardEmbedding"), backward);
    for (int i = 0; i < 2; i++) {
      long fwdMatmuls = plan.forward().get(1 + i).ops().stream().filter(o -> o.kernel().equals("matmulForward")).count();
      long bwdMatmuls = plan.backward().get(2 - i).ops().stream().filter(o -> o.kernel().equals("matmulBackward"))
          .count();
      assertEquals(4, fwdMatmuls);
      assertEquals(fwdMatmuls, bwdMatmuls);
    }
  }
}
