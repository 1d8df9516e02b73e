package dev.unroll.runtime.train;

/**
 * A model's parameters and gradients where they live on a device rather than in the Java arrays of
 * {@code CausalLm.parameters()}, with the optimizer's work that runs beside them: {@code AdamW} keeps its moments
 * there and steps there, so a training step never copies the parameters to the host. {@code AdamW.of(model)} asks
 * {@code CausalLm.deviceParameters()} for it; a model on a CPU backend has none.
 *
 * <p>The seam between the optimizer and a backend: the OpenCL backend implements it; a new device backend would
 * implement it too, and {@code AdamW} would not change. The update's formula and arguments are {@code AdamW}'s; an
 * implementation computes the same numbers in its own order of summation.
 */
public interface DeviceParameters {

  /** Sets AdamW's moments to zero, making them first if needed. Called when an optimizer is made. */
  void resetAdamW();

  /**
   * The squared L2 norm of the gradient, summed in fixed chunks so that it does not depend on the device's
   * parallelism. Waits until the gradient is complete.
   */
  double gradientSumOfSquares();

  /**
   * One AdamW update of every parameter: with {@code g = grad * scale}, {@code m = b1*m + (1-b1)*g},
   * {@code v = b2*v + (1-b2)*g*g}, {@code p -= lr * ((m/c1) / (sqrt(v/c2) + eps) + weightDecay * p)}. May return
   * before the device has finished; the next read of the model waits for it.
   */
  void adamw(float scale, float beta1, float beta2, float c1, float c2, float lr, float weightDecay, float eps);

  /** AdamW's first ({@code second == false}) or second moment of parameter {@code i}, read from the device. */
  float moment(boolean second, int i);

  /**
   * Copies AdamW's moments from the device into {@code first} and {@code second}, one float per parameter, for a
   * training checkpoint. Waits until the device's queued work is done.
   */
  void readMoments(float[] first, float[] second);

  /** Sets AdamW's moments on the device to {@code first} and {@code second}: a training checkpoint restored. */
  void writeMoments(float[] first, float[] second);
}
