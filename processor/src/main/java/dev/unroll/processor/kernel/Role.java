package dev.unroll.processor.kernel;

/**
 * One argument of a kernel, by what it is to the kernel: its name (the runtime method's parameter name, also that
 * of the {@code ops.cl} function's), its kind and, for a tensor, what its elements are.
 *
 * @param name the parameter's name in {@code Kernels} and {@code ops.cl} ({@code "weight"}, {@code "OC"})
 * @param kind what the kernel does with it
 * @param element what a tensor holds; {@link Element#INT} for sizes
 * @param optional whether a call may pass no tensor (a matmul without bias)
 */
public record Role(String name, Kind kind, Element element, boolean optional) {

  /** The roles emit code reads by name. */
  public static final String OUT = "out";
  public static final String INP = "inp";
  public static final String WEIGHT = "weight";
  public static final String BIAS = "bias";
  public static final String N = "N";
  public static final String C = "C";
  public static final String OC = "OC";

  /** What a kernel does with an argument, and what its elements are unless a variant says otherwise. */
  public enum Kind {
    /** A tensor it writes ({@code =}), or updates in place. */
    OUTPUT(Element.FLOAT),
    /** A gradient it accumulates into ({@code +=}). */
    GRADIENT(Element.FLOAT),
    /** A tensor it only reads. */
    INPUT(Element.FLOAT),
    /** A parameter it only reads; a quantized variant of the kernel reads its {@code weight} in another format. */
    WEIGHT(Element.FLOAT),
    /** A bias it only reads. */
    BIAS(Element.FLOAT),
    /** The step's token ids. */
    TOKENS(Element.INT),
    /** The step's next-token ids (a decoder's), or each row's class (an encoder's). */
    TARGETS(Element.INT),
    /** Each row's length: an encoder's padding mask. */
    LENGTHS(Element.INT),
    /** An int. */
    SIZE(Element.INT),
    /** A float constant of the family's numerics (a norm's epsilon). */
    CONSTANT(Element.FLOAT);

    private final Element element;

    Kind(Element element) {
      this.element = element;
    }

    /** A role of this kind named {@code name}, which every call passes. */
    public Role of(String name) {
      return new Role(name, this, element, false);
    }

    /** A role of this kind named {@code name}, for which a call may pass no tensor. */
    public Role optional(String name) {
      return new Role(name, this, element, true);
    }
  }

  /** Whether the kernel writes this argument (its OpenCL pointer is not {@code const}). */
  public boolean written() {
    return kind == Kind.OUTPUT || kind == Kind.GRADIENT;
  }

  /** Whether the argument is a tensor (an array, with or without an offset), not a number. */
  public boolean tensor() {
    return kind != Kind.SIZE && kind != Kind.CONSTANT;
  }

  @Override
  public String toString() {
    return name;
  }
}
