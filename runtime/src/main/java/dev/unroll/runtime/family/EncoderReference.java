package dev.unroll.runtime.family;

import dev.unroll.runtime.Encoder;
import dev.unroll.runtime.EncoderShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.check.Checks;
import dev.unroll.runtime.kernel.Kernels;
import java.util.Arrays;
import java.util.List;

/**
 * What the encoders' reference models share: the parameters built from the family's layout, the state between
 * forward and backward, the head's loss and the reading of logits and embeddings. A family's reference adds its
 * forward over its kind of input and its backward, one array per activation, in plain kernel calls.
 */
public abstract class EncoderReference extends ScalarModel<EncoderShape> implements Encoder {
  protected final int classes;
  /** The step's labels, copied. */
  protected final int[] labels;
  /** The step's row lengths: all {@code context} for an image encoder. */
  protected final int[] lengths;
  /** The head's logits, softmax and per-row losses, (B, K) each but the losses (B). */
  protected final float[] logits;
  protected final float[] probs;
  protected final float[] losses;
  /** 0 nothing usable, 1 logits, 2 logits and a finite loss. */
  private int state;

  protected EncoderReference(EncoderShape shape, Kernels kernels, List<ParamTensor> tensors) {
    super(shape, kernels, tensors);
    this.classes = shape.classes();
    this.labels = new int[b];
    this.lengths = new int[b];
    Arrays.fill(lengths, t);
    this.logits = new float[b * classes];
    this.probs = new float[b * classes];
    this.losses = new float[b];
  }

  /** The last hidden states (B, T, C) that {@link #embeddings} pools. */
  protected abstract float[] hidden();

  /**
   * Checks and copies the labels, if any, and forgets the last step: call first in a forward, after checking the
   * inputs. Returns whether the step has labels.
   */
  protected boolean begin(int[] labels) {
    if (labels != null) {
      Checks.labels(labels, b, classes);
      System.arraycopy(labels, 0, this.labels, 0, b);
    }
    state = 0;
    return labels != null;
  }

  /**
   * The head's last step from its logits: their softmax, and with labels the mean cross-entropy over the rows
   * (NaN without).
   *
   * @throws ArithmeticException when the loss is not finite
   */
  protected float loss(boolean training) {
    k.softmaxForward(probs, 0, logits, 0, b, classes, classes);
    state = 1;
    if (!training) {
      return Float.NaN;
    }
    float loss = k.crossEntropyForward(losses, 0, probs, 0, labels, b, classes);
    if (!Float.isFinite(loss)) {
      throw new ArithmeticException(getClass().getSimpleName() + ": the loss is " + loss);
    }
    state = 2;
    return loss;
  }

  /** The gradient of the mean loss at the logits, into {@code dlogits} (B, K): the backward's first step. */
  protected void lossBackward(float[] dlogits) {
    if (state != 2) {
      throw new IllegalStateException("backward() needs a forward with labels that returned a finite loss first");
    }
    k.crossEntropySoftmaxBackward(dlogits, 0, probs, 0, labels, b, classes, classes);
  }

  @Override
  public float[] logits(float[] dst) {
    requireForward();
    Checks.room(dst, b * classes, "batch * classes logits");
    System.arraycopy(logits, 0, dst, 0, b * classes);
    return dst;
  }

  @Override
  public float[] embeddings(float[] dst) {
    requireForward();
    Checks.room(dst, b * c, "batch * dim embeddings");
    Encoders.pool(hidden(), 0, lengths, b, t, c, shape.meanPooling(), shape.normalize(), dst);
    return dst;
  }

  private void requireForward() {
    if (state == 0) {
      throw new IllegalStateException("nothing to read: call forward first");
    }
  }
}
