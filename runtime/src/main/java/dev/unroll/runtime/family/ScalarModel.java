package dev.unroll.runtime.family;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.kernel.Kernels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What every reference model shares, decoder or encoder: its shape, the kernels it calls, the parameters built from
 * the family's layout, and the sizes its loops name. {@link ReferenceModel} (decoders) and {@link EncoderReference}
 * add what their kind of model does.
 *
 * @param <S> the shape's type, as the model's {@code shape()} returns it
 */
public abstract class ScalarModel<S extends ModelShape> {
  protected final S shape;
  protected final Kernels k;
  protected final Parameters parameters;
  /** The shape's batch, context, dim and hidden sizes, and batch times context, as the models' loops name them. */
  protected final int b, t, c, h, bt;

  /** A model over the parameter layout {@code tensors}, its parameters and gradients zero until initialised. */
  protected ScalarModel(S shape, Kernels kernels, List<ParamTensor> tensors) {
    ParamTensor last = tensors.getLast();
    int count = last.offset() + last.size();
    this.shape = shape;
    this.k = kernels;
    this.parameters = new Parameters(new float[count], new float[count], tensors);
    this.b = shape.batch();
    this.t = shape.context();
    this.c = shape.dim();
    this.h = shape.hidden();
    this.bt = b * t;
  }

  /** Sets every array (a {@code float[]}, or each of a {@code float[][]}) to zero: activations before a step. */
  protected static void zero(Object... arrays) {
    for (Object f : arrays) {
      if (f instanceof float[] x) {
        Arrays.fill(x, 0f);
      } else {
        for (float[] x : (float[][]) f) {
          Arrays.fill(x, 0f);
        }
      }
    }
  }

  public S shape() {
    return shape;
  }

  /** The checkpoints of this model's family, for its shape. */
  protected abstract ModelFamily.Checkpoints checkpoints();

  /** What {@code save} writes: the family's safetensors. */
  public Safetensors.Contents safetensors(Path path) {
    return checkpoints().safetensors(parameters, path);
  }

  /** Reads the weights of {@code path}, as the family loads them. */
  public void loadParameters(Path path) throws IOException {
    checkpoints().load(parameters, path);
  }

  public Backend backend() {
    return Backend.SCALAR;
  }

  public void zeroGrad() {
    Arrays.fill(parameters.grads(), 0f);
  }

  public Parameters parameters() {
    return parameters;
  }

  /** The offset of parameter {@code name} in the arena. */
  protected int off(String name) {
    return parameters.tensor(name).offset();
  }
}
