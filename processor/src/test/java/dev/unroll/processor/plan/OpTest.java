package dev.unroll.processor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An op's arguments bound to its kernel's roles: checked when it is made, read by role. */
class OpTest {
  private static final Tensor X = new Tensor("X", "X", 0, List.of(4, 8), List.of("N", "C"));
  private static final Tensor Y = new Tensor("Y", "Y", 32, List.of(4, 6), List.of("N", "OC"));
  private static final Tensor W = new Tensor("W", "w", 64, List.of(6, 8), List.of("OC", "C"));
  private static final Tensor B = new Tensor("B", "b", 112, List.of(6), List.of("OC"));
  private static final Arg.Size N = new Arg.Size("4", 4);
  private static final Arg.Size C = new Arg.Size("DIM", 8);
  private static final Arg.Size OC = new Arg.Size("6", 6);

  private static Op matmul(Arg weight, Arg bias) {
    return PlanBuilder.op(Kernel.MATMUL_FORWARD, "y = x · wᵀ + b", PlanBuilder.a(Y), PlanBuilder.a(X), weight, bias,
        N, C, OC);
  }

  @Test
  void argumentsAreReadByRole() {
    Op op = matmul(PlanBuilder.p(W), PlanBuilder.p(B));
    assertEquals("matmulForward", op.kernel());
    assertEquals(PlanBuilder.p(W), op.arg(Role.WEIGHT));
    assertEquals(PlanBuilder.a(Y), op.arg(Role.OUT));
    assertSame(C, op.size(Role.C));
    assertEquals(6, op.size(Role.OC).value());
    assertEquals(List.of(4L, 8L, 6L), Arrays.stream(op.sizes()).boxed().toList());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.arg("K"));
    assertTrue(e.getMessage().contains("matmulForward has no argument K"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> op.size(Role.WEIGHT));
  }

  @Test
  void theNamedFormIsTheTypedOne() {
    Op typed = matmul(PlanBuilder.p(W), new Arg.None());
    Op named = PlanBuilder.op(Kernel.named("matmulForward"), "y = x · wᵀ + b", PlanBuilder.a(Y), PlanBuilder.a(X),
        PlanBuilder.p(W), new Arg.None(), N, C, OC);
    assertEquals(typed, named);
    assertSame(Kernel.MATMUL_FORWARD, named.entry());
  }

  @Test
  void anUnknownKernelOrWrongArgumentsFailWhenTheOpIsMade() {
    String unknown = assertThrows(IllegalArgumentException.class,
        () -> Kernel.named("matmulForwad")).getMessage();
    assertTrue(unknown.contains("no kernel matmulForwad") && unknown.contains("matmulForward"), unknown);
    String arity = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.MATMUL_FORWARD, "no OC", PlanBuilder.a(Y), PlanBuilder.a(X), PlanBuilder.p(W),
            PlanBuilder.p(B), N, C)).getMessage();
    assertTrue(arity.contains("matmulForward takes 7 arguments [out, inp, weight, bias, N, C, OC], not 6"), arity);
    String size = assertThrows(IllegalArgumentException.class,
        () -> matmul(C, PlanBuilder.p(B))).getMessage();
    assertTrue(size.startsWith("matmulForward's weight takes a FLOAT tensor, not Size"), size);
    String tensor = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.GELU_FORWARD, "n a tensor", PlanBuilder.a(Y), PlanBuilder.a(X),
            PlanBuilder.a(X))).getMessage();
    assertTrue(tensor.startsWith("geluForward's N takes a size"), tensor);
    // a bias may be absent from a matmul, not from a layernorm
    matmul(PlanBuilder.p(W), new Arg.None());
    String bias = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.LAYERNORM_FORWARD, "no bias", PlanBuilder.a(Y), PlanBuilder.a(Y),
            PlanBuilder.a(Y), PlanBuilder.a(X), PlanBuilder.p(W), new Arg.None(), N, C, new Arg.Constant(1e-5f)))
        .getMessage();
    assertTrue(bias.startsWith("layernormForward's bias takes a FLOAT tensor, not None"), bias);
    // a norm's epsilon is a float constant, not a size
    String eps = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.LAYERNORM_FORWARD, "eps", PlanBuilder.a(Y), PlanBuilder.a(Y), PlanBuilder.a(Y),
            PlanBuilder.a(X), PlanBuilder.p(W), PlanBuilder.p(B), N, C, N)).getMessage();
    assertTrue(eps.startsWith("layernormForward's eps takes a float constant"), eps);
    // inputs and targets are not interchangeable
    String ids = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.EMBEDDING_FORWARD, "targets", PlanBuilder.a(Y), new Arg.Targets(),
            PlanBuilder.p(W), N, C)).getMessage();
    assertTrue(ids.startsWith("embeddingForward's inp takes the step's inputs or types"), ids);
    // an encoder's row lengths are their own argument
    String lengths = assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.ATTENTION_FORWARD_BIDIRECTIONAL, "lengths", PlanBuilder.a(Y), PlanBuilder.a(Y),
            PlanBuilder.a(Y), PlanBuilder.a(X), new Arg.Inputs(), N, N, C, N)).getMessage();
    assertTrue(lengths.startsWith("attentionForwardBidirectional's lengths takes the step's lengths"), lengths);
  }

  @Test
  void aTensorHoldsTheElementsItsRoleReads() {
    Arg bf16 = new Arg.TensorRef(Arena.BF16, W);
    String floats = assertThrows(IllegalArgumentException.class, () -> matmul(bf16, new Arg.None())).getMessage();
    assertTrue(floats.startsWith("matmulForward's weight takes a FLOAT tensor"), floats);
    String shorts = assertThrows(IllegalArgumentException.class,
        () -> matmul(PlanBuilder.p(W), new Arg.None()).with(Kernel.MATMUL_FORWARD_BF16, Role.BIAS, new Arg.None(),
            "weights left in float32")).getMessage();
    assertTrue(shorts.startsWith("matmulForwardBf16's weight takes a SHORT tensor"), shorts);
    assertThrows(IllegalArgumentException.class,
        () -> PlanBuilder.op(Kernel.COPY, "a row of the bfloat16 copy", PlanBuilder.a(Y),
            new Arg.Row(Arena.BF16, W, "token", "DIM"), C));
  }

  @Test
  void aVariantTakesTheSameCallWithTheWeightRebound() {
    Op op = matmul(PlanBuilder.p(W), new Arg.None());
    Arg bf16 = new Arg.TensorRef(Arena.BF16, W);
    Op variant = op.with(Kernel.MATMUL_FORWARD_BF16, Role.WEIGHT, bf16, "in bfloat16");
    assertEquals("matmulForwardBf16", variant.kernel());
    assertEquals(List.of(op.arg(Role.OUT), op.arg(Role.INP), bf16, new Arg.None(), N, C, OC), variant.args());
    assertEquals("in bfloat16", variant.comment());
  }

  /** The quantized decodes call the variants on the copies, for both families. */
  @Test
  void quantizedDecodesCallTheVariants() {
    for (ModelSpec spec : List.of(ModelSpec.gpt2("G", 97, 13, 64, 4, 2, 3),
        ModelSpec.llama("L", 97, 13, 64, 4, 2, 2, 3, false))) {
      Plan plan = Planner.plan(spec);
      assertTrue(plan.decodeInt8().stream().flatMap(s -> s.ops().stream())
          .anyMatch(o -> o.entry() == Kernel.MATMUL_FORWARD_INT8), spec.interfaceName() + ": int8 products");
      assertTrue(plan.decodeBf16().stream().flatMap(s -> s.ops().stream())
          .noneMatch(o -> o.entry() == Kernel.MATMUL_FORWARD), spec.interfaceName() + ": a float32 product left");
    }
  }
}
