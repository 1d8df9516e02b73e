package dev.unroll;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The shape of a Transformer. Put it on an interface that extends {@code dev.unroll.runtime.CausalLm}; the
 * Unroll processor then writes {@code Unrolled<Name>} beside it, with every size below fixed at compile time.
 *
 * <pre>{@code
 * @Transformer(vocab = 65, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
 * public interface BabyShakespeare extends CausalLm {}
 * }</pre>
 *
 * <p>All sizes must be positive; {@code dim} must be divisible by {@code heads}. Invalid values are compile
 * errors on the value itself.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface Transformer {
  /** The architecture: {@link Family#GPT2} (the default) or {@link Family#LLAMA}. */
  Family family() default Family.GPT2;

  /** Number of distinct tokens. */
  int vocab();

  /** Maximum sequence length (T): positions per training row and the size of the position table. */
  int context();

  /** Width of the residual stream (C). */
  int dim();

  /** Number of attention heads; must divide {@code dim}. */
  int heads();

  /** Number of Transformer blocks (L). */
  int layers();

  /** Rows per training step (B): the generated arenas hold activations for {@code batch * context} tokens. */
  int batch();

  /**
   * Width of the MLP's hidden layer. {@code 0}, the default, means the family's default: {@code 4 * dim} for GPT2;
   * for LLAMA {@code 8 * dim / 3} rounded up to a multiple of 32 (768 at dim 288, as llama2.c's stories15M).
   */
  int hidden() default 0;

  /**
   * LLAMA only: key/value heads of grouped-query attention; must divide {@code heads}. {@code 0}, the default,
   * means {@code heads} (plain multi-head attention).
   */
  int kvHeads() default 0;

  /**
   * LLAMA only: whether the classifier shares the token embedding's weights (llama2.c's "shared classifier").
   * GPT2 always ties them.
   */
  boolean tiedEmbeddings() default true;

  /**
   * The platforms the generated class can run on, at least one: {@link Platform#JAVA} (the runtime's
   * {@code Backend.SCALAR} and {@code Backend.SIMD}) and {@link Platform#OPENCL} ({@code Backend.OPENCL}); both by
   * default. A model that will never run on an OpenCL device says {@code platforms = Platform.JAVA} and pays
   * nothing for OpenCL: its class has no OpenCL C, no device binding and no import of the runtime's OpenCL
   * package. Asking such a model for a backend of a platform it was compiled without ({@code create(Backend.OPENCL,
   * seed)}) is an {@code UnsupportedOperationException} that names this value. An empty list is a compile error.
   */
  Platform[] platforms() default {Platform.JAVA, Platform.OPENCL};

  /**
   * Also generate {@code Unrolled<Name>Benchmark}, a JMH benchmark of this model (training step and forward,
   * per backend). Needs {@code org.openjdk.jmh:jmh-core} on the compile classpath and JMH's annotation processor
   * ({@code jmh-generator-annprocess}) on the processor path after Unroll's.
   */
  boolean benchmark() default false;
}
