package dev.unroll.processor.kernel;

import static dev.unroll.processor.kernel.OpenClGeometry.attention;
import static dev.unroll.processor.kernel.OpenClGeometry.columns;
import static dev.unroll.processor.kernel.OpenClGeometry.decoding;
import static dev.unroll.processor.kernel.OpenClGeometry.flat;
import static dev.unroll.processor.kernel.OpenClGeometry.gemm;
import static dev.unroll.processor.kernel.OpenClGeometry.product;
import static dev.unroll.processor.kernel.OpenClGeometry.rows;
import static dev.unroll.processor.kernel.Role.Kind.BIAS;
import static dev.unroll.processor.kernel.Role.Kind.CONSTANT;
import static dev.unroll.processor.kernel.Role.Kind.GRADIENT;
import static dev.unroll.processor.kernel.Role.Kind.INPUT;
import static dev.unroll.processor.kernel.Role.Kind.LENGTHS;
import static dev.unroll.processor.kernel.Role.Kind.OUTPUT;
import static dev.unroll.processor.kernel.Role.Kind.SIZE;
import static dev.unroll.processor.kernel.Role.Kind.TARGETS;
import static dev.unroll.processor.kernel.Role.Kind.TOKENS;
import static dev.unroll.processor.kernel.Role.Kind.WEIGHT;

import dev.unroll.processor.kernel.Role.Kind;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The processor's catalogue of kernels: every kernel a plan calls, with the method of the runtime's
 * {@code dev.unroll.runtime.kernel.Kernels} it is, its arguments by role in that method's order, the variants that
 * read its weight as bfloat16 or int8, and how it runs on OpenCL.
 *
 * <p>OpenCL: each phase of a kernel is a function {@code uk_<method><suffix>} of the runtime's {@code ops.cl} that
 * takes the method's arguments in order, each tensor as one {@code __global} pointer already offset ({@code const}
 * where the kernel only reads it), each size as an int, then, when {@link Phase#localFloats()} is positive, a
 * {@code __local float*} of that many floats. Phases of one kernel are enqueued in order on an in-order queue. The
 * work sizes come from the sizes, by name ({@link OpenClGeometry} holds the shapes).
 *
 * <p>{@code KernelCatalogueTest} checks every entry against {@code Kernels} (names, types and order of the
 * parameters) and {@code ops.cl} (each phase's function and its parameters, and the GEMM's constants).
 */
public enum Kernel {
  ENCODER_FORWARD("encoderForward", s -> List.of(flat("", s.get("B") * s.get("T") * s.get("C"))),
      OUTPUT.of("out"), TOKENS.of("inp"), WEIGHT.of("wte"), WEIGHT.of("wpe"), SIZE.of("B"), SIZE.of("T"), SIZE.of("C")),
  ENCODER_BACKWARD("encoderBackward", s -> List.of(flat("_dwte", s.get("C")), flat("_dwpe", s.get("T") * s.get("C"))),
      GRADIENT.of("dwte"), GRADIENT.of("dwpe"), INPUT.of("dout"), TOKENS.of("inp"), SIZE.of("B"), SIZE.of("T"),
      SIZE.of("C")),
  EMBEDDING_FORWARD("embeddingForward", s -> List.of(flat("", s.get("N") * s.get("C"))),
      OUTPUT.of("out"), TOKENS.of("inp"), WEIGHT.of("emb"), SIZE.of("N"), SIZE.of("C")),
  EMBEDDING_BACKWARD("embeddingBackward", s -> List.of(flat("", s.get("C"))),
      GRADIENT.of("demb"), INPUT.of("dout"), TOKENS.of("inp"), SIZE.of("N"), SIZE.of("C")),

  LAYERNORM_FORWARD("layernormForward", s -> List.of(rows("", s.get("N"), s.get("C"), 1)),
      OUTPUT.of("out"), OUTPUT.of("mean"), OUTPUT.of("rstd"), INPUT.of("inp"), WEIGHT.of("weight"), BIAS.of("bias"),
      SIZE.of("N"), SIZE.of("C"), CONSTANT.of("eps")),
  LAYERNORM_BACKWARD("layernormBackward",
      s -> List.of(rows("_dinp", s.get("N"), s.get("C"), 2), flat("_dparams", s.get("C"))),
      GRADIENT.of("dinp"), GRADIENT.of("dweight"), GRADIENT.of("dbias"), INPUT.of("dout"), INPUT.of("inp"),
      WEIGHT.of("weight"), INPUT.of("mean"), INPUT.of("rstd"), SIZE.of("N"), SIZE.of("C")),
  RMSNORM_FORWARD("rmsnormForward", s -> List.of(rows("", s.get("N"), s.get("C"), 1)),
      OUTPUT.of("out"), OUTPUT.of("rstd"), INPUT.of("inp"), WEIGHT.of("weight"), SIZE.of("N"), SIZE.of("C")),
  RMSNORM_BACKWARD("rmsnormBackward",
      s -> List.of(rows("_dinp", s.get("N"), s.get("C"), 1), flat("_dweight", s.get("C"))),
      GRADIENT.of("dinp"), GRADIENT.of("dweight"), INPUT.of("dout"), INPUT.of("inp"), WEIGHT.of("weight"),
      INPUT.of("rstd"), SIZE.of("N"), SIZE.of("C")),

  MATMUL_FORWARD("matmulForward", s -> List.of(product(s.get("N"), s.get("OC"))),
      OUTPUT.of("out"), INPUT.of("inp"), WEIGHT.of("weight"), BIAS.optional("bias"), SIZE.of("N"), SIZE.of("C"),
      SIZE.of("OC")),
  /** {@link #MATMUL_FORWARD} over the bfloat16 copy of the weight. */
  MATMUL_FORWARD_BF16("matmulForwardBf16", MATMUL_FORWARD, Element.SHORT, "matmulForwardBf16Group",
      "packBf16Weight", s -> List.of(product(s.get("N"), s.get("OC")))),
  /** {@link #MATMUL_FORWARD} over the int8 copy of the weight; not on OpenCL. */
  MATMUL_FORWARD_INT8("matmulForwardInt8", MATMUL_FORWARD, Element.BYTE, "matmulForwardInt8Group",
      "packInt8Weight", null),
  MATMUL_BACKWARD("matmulBackward", s -> List.of(gemm("_dinp", s.get("N"), s.get("C")),
      gemm("_dweight", s.get("OC"), s.get("C")), flat("_dbias", s.get("OC"))),
      GRADIENT.of("dinp"), GRADIENT.of("dweight"), GRADIENT.optional("dbias"), INPUT.of("dout"), INPUT.of("inp"),
      WEIGHT.of("weight"), SIZE.of("N"), SIZE.of("C"), SIZE.of("OC")),

  ATTENTION_FORWARD("attentionForward", s -> List.of(attention("", s.get("B") * s.get("NH"), s.get("T"))),
      OUTPUT.of("out"), OUTPUT.of("preatt"), OUTPUT.of("att"), INPUT.of("qkv"), SIZE.of("B"), SIZE.of("T"),
      SIZE.of("C"), SIZE.of("NH")),
  ATTENTION_BACKWARD("attentionBackward", s -> List.of(attention("_dq", s.get("B") * s.get("NH"), s.get("T")),
      attention("_dkv", s.get("B") * s.get("NH"), s.get("T"))),
      GRADIENT.of("dqkv"), GRADIENT.of("dpreatt"), GRADIENT.of("datt"), INPUT.of("dout"), INPUT.of("qkv"),
      INPUT.of("att"), SIZE.of("B"), SIZE.of("T"), SIZE.of("C"), SIZE.of("NH")),
  ATTENTION_FORWARD_GQA("attentionForwardGqa", s -> List.of(attention("", s.get("B") * s.get("NH"), s.get("T"))),
      OUTPUT.of("out"), OUTPUT.of("preatt"), OUTPUT.of("att"), INPUT.of("qkv"), SIZE.of("B"), SIZE.of("T"),
      SIZE.of("NH"), SIZE.of("KVH"), SIZE.of("hs")),
  ATTENTION_BACKWARD_GQA("attentionBackwardGqa",
      s -> List.of(attention("_dq", s.get("B") * s.get("NH"), s.get("T")),
          attention("_dkv", s.get("B") * s.get("KVH"), s.get("T"))),
      GRADIENT.of("dqkv"), GRADIENT.of("dpreatt"), GRADIENT.of("datt"), INPUT.of("dout"), INPUT.of("qkv"),
      INPUT.of("att"), SIZE.of("B"), SIZE.of("T"), SIZE.of("NH"), SIZE.of("KVH"), SIZE.of("hs")),
  /**
   * Bidirectional attention (an encoder's): row b's queries attend to its first {@code lengths[b]} positions; the
   * query positions past them are written as zeros.
   */
  ATTENTION_FORWARD_BIDIRECTIONAL("attentionForwardBidirectional",
      s -> List.of(attention("", s.get("B") * s.get("NH"), s.get("T"))),
      OUTPUT.of("out"), OUTPUT.of("preatt"), OUTPUT.of("att"), INPUT.of("qkv"), LENGTHS.of("lengths"), SIZE.of("B"),
      SIZE.of("T"), SIZE.of("C"), SIZE.of("NH")),
  ATTENTION_BACKWARD_BIDIRECTIONAL("attentionBackwardBidirectional",
      s -> List.of(attention("_dq", s.get("B") * s.get("NH"), s.get("T")),
          attention("_dkv", s.get("B") * s.get("NH"), s.get("T"))),
      GRADIENT.of("dqkv"), GRADIENT.of("dpreatt"), GRADIENT.of("datt"), INPUT.of("dout"), INPUT.of("qkv"),
      INPUT.of("att"), LENGTHS.of("lengths"), SIZE.of("B"), SIZE.of("T"), SIZE.of("C"), SIZE.of("NH")),
  /** One position against the KV cache; {@code pos} is known only at run time. */
  ATTENTION_DECODE("attentionDecode", s -> List.of(decoding(s.get("NH"), s.get("T"))),
      OUTPUT.of("out"), OUTPUT.of("att"), INPUT.of("q"), INPUT.of("kcache"), INPUT.of("vcache"), SIZE.of("pos"),
      SIZE.of("T"), SIZE.of("NH"), SIZE.of("KVH"), SIZE.of("hs")),
  /** Rotates pairs within each head of {@code rows} rows in place; {@code pos0} may be known only at run time. */
  ROPE("rope", s -> List.of(flat("", s.get("rows") * (s.get("width") / 2))),
      OUTPUT.of("x"), SIZE.of("rows"), SIZE.of("stride"), SIZE.of("width"), SIZE.of("hs"), SIZE.of("T"),
      SIZE.of("pos0"), SIZE.of("sign")),

  GELU_FORWARD("geluForward", s -> List.of(flat("", s.get("N"))), OUTPUT.of("out"), INPUT.of("inp"), SIZE.of("N")),
  GELU_BACKWARD("geluBackward", s -> List.of(flat("", s.get("N"))),
      GRADIENT.of("dinp"), INPUT.of("inp"), INPUT.of("dout"), SIZE.of("N")),
  /** The exact GELU, x·Φ(x) with the error function (BERT's, ViT's). */
  GELU_ERF_FORWARD("geluErfForward", s -> List.of(flat("", s.get("N"))),
      OUTPUT.of("out"), INPUT.of("inp"), SIZE.of("N")),
  GELU_ERF_BACKWARD("geluErfBackward", s -> List.of(flat("", s.get("N"))),
      GRADIENT.of("dinp"), INPUT.of("inp"), INPUT.of("dout"), SIZE.of("N")),
  TANH_FORWARD("tanhForward", s -> List.of(flat("", s.get("N"))), OUTPUT.of("out"), INPUT.of("inp"), SIZE.of("N")),
  /** From the forward's output: dinp += dout · (1 - out²). */
  TANH_BACKWARD("tanhBackward", s -> List.of(flat("", s.get("N"))),
      GRADIENT.of("dinp"), INPUT.of("out"), INPUT.of("dout"), SIZE.of("N")),
  SWIGLU_FORWARD("swigluForward", s -> List.of(flat("", s.get("N"))),
      OUTPUT.of("out"), INPUT.of("gate"), INPUT.of("up"), SIZE.of("N")),
  SWIGLU_BACKWARD("swigluBackward", s -> List.of(flat("", s.get("N"))),
      GRADIENT.of("dgate"), GRADIENT.of("dup"), INPUT.of("dout"), INPUT.of("gate"), INPUT.of("up"), SIZE.of("N")),
  RESIDUAL_FORWARD("residualForward", s -> List.of(flat("", s.get("N"))),
      OUTPUT.of("out"), INPUT.of("inp1"), INPUT.of("inp2"), SIZE.of("N")),
  RESIDUAL_BACKWARD("residualBackward", s -> List.of(flat("", s.get("N"))),
      GRADIENT.of("dinp1"), GRADIENT.of("dinp2"), INPUT.of("dout"), SIZE.of("N")),
  /**
   * Cuts (B, CH, H, W) grids into their (H/PH)·(W/PW) patches, row-major over the patch grid, each patch's floats
   * in (CH, PH, PW) order (a convolution weight's): out (B, NP, CH·PH·PW).
   */
  PATCHES("patches", s -> List.of(flat("", s.get("B") * s.get("CH") * s.get("H") * s.get("W"))),
      OUTPUT.of("out"), INPUT.of("pixels"), SIZE.of("B"), SIZE.of("CH"), SIZE.of("H"), SIZE.of("W"), SIZE.of("PH"),
      SIZE.of("PW")),
  /** out[b,0,:] = cls + pos[0]; out[b,1+p,:] = patches[b,p,:] + pos[1+p]: out (B, NP+1, C). */
  CLASS_TOKEN_FORWARD("classTokenForward", s -> List.of(flat("", s.get("B") * (s.get("NP") + 1) * s.get("C"))),
      OUTPUT.of("out"), INPUT.of("patches"), WEIGHT.of("cls"), WEIGHT.of("pos"), SIZE.of("B"), SIZE.of("NP"),
      SIZE.of("C")),
  CLASS_TOKEN_BACKWARD("classTokenBackward", s -> List.of(flat("_dpatches", s.get("B") * s.get("NP") * s.get("C")),
      flat("_dparams", (s.get("NP") + 1) * s.get("C"))),
      GRADIENT.of("dpatches"), GRADIENT.of("dcls"), GRADIENT.of("dpos"), INPUT.of("dout"), SIZE.of("B"),
      SIZE.of("NP"), SIZE.of("C")),
  COPY("copy", s -> List.of(flat("", s.get("n"))), OUTPUT.of("dst"), INPUT.of("src"), SIZE.of("n")),
  /**
   * Clears {@code n} floats: an activation gradient's slot, whose storage an earlier gradient used, before the first
   * kernel that accumulates into it.
   */
  ZERO("zero", s -> List.of(flat("", s.get("n"))), OUTPUT.of("a"), SIZE.of("n")),
  /** {@code rows} rows of {@code width} floats between arrays of different row strides. */
  COPY_ROWS("copyRows", s -> List.of(flat("", s.get("rows") * s.get("width"))),
      OUTPUT.of("dst"), SIZE.of("dstStride"), INPUT.of("src"), SIZE.of("srcStride"), SIZE.of("rows"), SIZE.of("width")),

  SOFTMAX_FORWARD("softmaxForward", s -> List.of(rows("", s.get("N"), s.get("V"), 1)),
      OUTPUT.of("probs"), INPUT.of("logits"), SIZE.of("N"), SIZE.of("V"), SIZE.of("Vp")),
  /** Returns the mean loss on the CPU. */
  CROSS_ENTROPY_FORWARD("crossEntropyForward", s -> List.of(flat("", s.get("N"))),
      OUTPUT.of("losses"), INPUT.of("probs"), TARGETS.of("targets"), SIZE.of("N"), SIZE.of("Vp")),
  CROSS_ENTROPY_SOFTMAX_BACKWARD("crossEntropySoftmaxBackward",
      s -> List.of(columns("", s.get("N"), s.get("V"))),
      GRADIENT.of("dlogits"), INPUT.of("probs"), TARGETS.of("targets"), SIZE.of("N"), SIZE.of("V"), SIZE.of("Vp"));

  private static final Map<String, Kernel> BY_METHOD =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Kernel::method, k -> k));

  private final String method;
  private final List<Role> roles;
  private final Kernel base;
  private final String group;
  private final String pack;
  private final Function<Sizes, List<Phase>> geometry;

  Kernel(String method, Function<Sizes, List<Phase>> geometry, Role... roles) {
    this.method = method;
    this.roles = List.of(roles);
    this.base = null;
    this.group = null;
    this.pack = null;
    this.geometry = geometry;
  }

  /** A variant of {@code base} reading its {@code weight} as {@code weights}, with its group and pack methods. */
  Kernel(String method, Kernel base, Element weights, String group, String pack,
      Function<Sizes, List<Phase>> geometry) {
    this.method = method;
    this.roles = base.roles.stream()
        .map(r -> r.name().equals(Role.WEIGHT) ? new Role(r.name(), r.kind(), weights, r.optional()) : r)
        .toList();
    this.base = base;
    this.group = group;
    this.pack = pack;
    this.geometry = geometry;
  }

  /** The catalogue entry of the runtime method {@code method}. */
  public static Kernel named(String method) {
    Kernel k = BY_METHOD.get(method);
    if (k == null) {
      throw new IllegalArgumentException("no kernel " + method + " in the catalogue; the kernels: "
          + Arrays.stream(values()).map(Kernel::method).sorted().collect(Collectors.joining(", ")));
    }
    return k;
  }

  /** The name of the {@code Kernels} method (and of its {@code ops.cl} functions, after {@code uk_}). */
  public String method() {
    return method;
  }

  /** The arguments, in the method's order. */
  public List<Role> roles() {
    return roles;
  }

  /** The role named {@code name}. */
  public Role role(String name) {
    return roles.get(index(name));
  }

  /** Whether this kernel has a role named {@code name}. */
  public boolean has(String name) {
    return roles.stream().anyMatch(r -> r.name().equals(name));
  }

  /** The position of role {@code name} among the arguments. */
  public int index(String name) {
    for (int i = 0; i < roles.size(); i++) {
      if (roles.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException(method + " has no argument " + name + "; its arguments: " + roles);
  }

  /**
   * The variant of this kernel that reads its {@code weight} as {@code weights} instead of floats
   * ({@code MATMUL_FORWARD} and {@link Element#SHORT}: {@code MATMUL_FORWARD_BF16}); empty where there is none.
   */
  public Optional<Kernel> withWeights(Element weights) {
    return Arrays.stream(values()).filter(k -> k.base == this && k.role(Role.WEIGHT).element() == weights)
        .findFirst();
  }

  /** The kernel this one is a variant of (reading its weight in another format); empty for a float kernel. */
  public Optional<Kernel> base() {
    return Optional.ofNullable(base);
  }

  /**
   * A variant's {@code Kernels} method that runs several one-row products of one input at once
   * ({@code matmulForwardBf16Group}); empty for the other kernels.
   */
  public Optional<String> group() {
    return Optional.ofNullable(group);
  }

  /** A variant's {@code Kernels} method that lays out a weight as the kernels read it; empty for the others. */
  public Optional<String> pack() {
    return Optional.ofNullable(pack);
  }

  /** Whether the kernel runs on OpenCL. */
  public boolean openCl() {
    return geometry != null;
  }

  /**
   * The OpenCL phases of a call with these sizes (the size roles' values in order; a size known only at run time,
   * such as the decoded position, is -1, and the work sizes never read it).
   *
   * @throws IllegalArgumentException for a kernel with no OpenCL version, or the wrong number of sizes
   */
  public List<Phase> phases(long[] sizes) {
    if (geometry == null) {
      throw new IllegalArgumentException("no OpenCL version of " + method);
    }
    List<String> names = roles.stream().filter(r -> r.kind() == Kind.SIZE).map(Role::name).toList();
    if (sizes.length != names.size()) {
      throw new IllegalArgumentException(method + " takes " + names.size() + " ints " + names + ", not "
          + sizes.length);
    }
    return geometry.apply(new Sizes(method, names, sizes));
  }

  /** A call's sizes by name, for its work sizes. */
  record Sizes(String method, List<String> names, long[] values) {
    long get(String name) {
      int i = names.indexOf(name);
      if (i < 0) {
        throw new IllegalStateException(method + " has no size " + name + "; its sizes: " + names);
      }
      if (values[i] < 0) {
        throw new IllegalStateException("the work sizes of " + method + " read " + name
            + ", which is known only at run time");
      }
      return values[i];
    }
  }
}
