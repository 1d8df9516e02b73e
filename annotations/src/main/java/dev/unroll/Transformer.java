package dev.unroll;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The shape of a Transformer. Put it on an interface that extends the runtime's interface of its family
 * ({@code dev.unroll.runtime.CausalLm} for GPT2 and LLAMA, {@code TextEncoder} for BERT, {@code ImageEncoder} for
 * VIT); the Unroll processor then writes {@code Unrolled<Name>} beside it, with every size below fixed at compile
 * time.
 *
 * <pre>{@code
 * @Transformer(vocab = 65, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
 * public interface BabyShakespeare extends CausalLm {}
 *
 * @Transformer(family = Family.VIT, channels = 1, height = 8, width = 8, patch = 2, classes = 10,
 *     dim = 64, heads = 4, layers = 2, batch = 32)
 * public interface Digits extends ImageEncoder {}
 * }</pre>
 *
 * <p>All sizes must be positive; {@code dim} must be divisible by {@code heads}. Invalid values are compile
 * errors on the value itself.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface Transformer {
  /**
   * The architecture: the decoders {@link Family#GPT2} (the default) and {@link Family#LLAMA}, the encoders
   * {@link Family#BERT} and {@link Family#VIT}.
   */
  Family family() default Family.GPT2;

  /** Number of distinct tokens; every family but VIT needs it. */
  int vocab() default 0;

  /**
   * Maximum sequence length (T): positions per row and the size of the position table. VIT derives it (the
   * patches, plus the class token): leave it out, or give exactly that.
   */
  int context() default 0;

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

  /** BERT and VIT: the classification head's classes, at least 2. */
  int classes() default 0;

  /** BERT and VIT: how {@code embed} pools a row's last hidden states; {@link Pooling#FIRST} by default. */
  Pooling pooling() default Pooling.FIRST;

  /** BERT and VIT: whether {@code embed} scales each vector to unit length (L2), as for cosine similarity. */
  boolean normalize() default false;

  /** BERT only: token types (segments) of the token-type embedding; 0 for none. BERT's own is 2, the default. */
  int typeVocab() default 2;

  /** VIT only: channels of the input grid (3 for RGB, 1 for grey or a spectrogram). */
  int channels() default 0;

  /** VIT only: rows of the input grid (an image's height in pixels). */
  int height() default 0;

  /** VIT only: columns of the input grid (an image's width in pixels). */
  int width() default 0;

  /**
   * VIT only: the patch size: one value for square patches ({@code patch = 16}), or height and width
   * ({@code patch = {2, 3}}); each must divide the grid's height and width.
   */
  int[] patch() default {};

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
