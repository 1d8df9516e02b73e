package dev.unroll.runtime.family;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.check.Checks;
import dev.unroll.runtime.kernel.Kernels;
import java.util.Arrays;
import java.util.List;

/**
 * What the reference models share: the shape, the parameters, the step's tokens, the checks, and decoding by
 * brute force. Subclasses write forward and backward as plainly as they can.
 */
public abstract class ReferenceModel extends ScalarModel<ModelShape> implements CausalLm {
  protected final int[] inputs;
  protected final int[] targets;
  private final int[] decoded;
  private final float[] decodeLogits;
  private int position;
  /** Whether the last forward left a finite loss, so that backward may run. */
  protected boolean hasLoss;

  /** A model over the parameter layout {@code tensors}, its parameters and gradients zero until initialised. */
  protected ReferenceModel(ModelShape shape, Kernels kernels, List<ParamTensor> tensors) {
    super(shape, kernels, tensors);
    this.inputs = new int[shape.batch() * shape.context()];
    this.targets = new int[inputs.length];
    this.decoded = new int[inputs.length];
    this.decodeLogits = new float[shape.vocab()];
  }

  /** The logits arena, (B, T, Vp). */
  protected abstract float[] logitsArena();

  /** Checks and copies the step's tokens; returns whether there are targets. */
  protected boolean begin(int[] in, int[] tg) {
    Checks.tokens("inputs", in, shape.batch(), shape.context(), shape.vocab());
    if (tg != null) {
      Checks.tokens("targets", tg, shape.batch(), shape.context(), shape.vocab());
    }
    hasLoss = false;
    System.arraycopy(in, 0, inputs, 0, inputs.length);
    if (tg != null) {
      System.arraycopy(tg, 0, targets, 0, targets.length);
    }
    return tg != null;
  }

  /** Checks the loss and records that backward may run. */
  protected float finish(float loss) {
    if (!Float.isFinite(loss)) {
      throw new ArithmeticException(getClass().getSimpleName() + ": the loss is " + loss);
    }
    hasLoss = true;
    return loss;
  }

  protected void requireLoss() {
    if (!hasLoss) {
      throw new IllegalStateException("backward() needs a forward(inputs, targets) that returned a finite loss");
    }
  }

  @Override
  public float[] logits(int row, int position, float[] dst) {
    Checks.position(row, position, shape.batch(), shape.context());
    System.arraycopy(logitsArena(), (row * shape.context() + position) * shape.paddedVocab(), dst, 0,
        shape.vocab());
    return dst;
  }

  /**
   * Decoding by brute force: the whole prefix decoded so far runs through {@link #forward} as row 0 (later
   * positions and rows hold token 0; attention is causal, so they do not matter), and the logits at the last
   * position are returned. Quadratic, and it overwrites the activations of the last training forward.
   */
  @Override
  public float[] decode(int token) {
    if (token < 0 || token >= shape.vocab()) {
      throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + shape.vocab()
          + ")");
    }
    if (position >= shape.context()) {
      throw new IllegalStateException("the context of " + shape.context() + " positions is full; call reset()");
    }
    decoded[position++] = token;
    forward(decoded, null);
    return logits(0, position - 1, decodeLogits);
  }

  @Override
  public void reset() {
    position = 0;
    Arrays.fill(decoded, 0);
  }

  @Override
  public int position() {
    return position;
  }
}
