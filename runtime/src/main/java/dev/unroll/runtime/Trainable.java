package dev.unroll.runtime;

import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.train.DeviceParameters;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What every generated model can do, decoder or encoder: its shape and backend, its parameters and their
 * gradients, a backward pass after a forward with a loss, and saving. What {@link AdamW#of(Trainable)} steps.
 */
public interface Trainable {

  /** The sizes this model was compiled for. */
  ModelShape shape();

  /** Where this model computes. */
  Backend backend();

  /**
   * Accumulates into the parameter gradients the gradient of the mean loss of the last forward call.
   *
   * @throws IllegalStateException when the last forward had no targets or labels, failed, or there was none
   */
  void backward();

  /** Sets every parameter gradient to zero. */
  void zeroGrad();

  /**
   * The parameter and gradient arenas and their tensors (shared with the model, not copied). On
   * {@link Backend#OPENCL} they are the host copies: this call first copies the device's values and gradients into
   * them, and after changing them call {@link #parametersChanged()} so that the device sees the change.
   */
  Parameters parameters();

  /**
   * Tells a model whose parameters live on a device ({@link Backend#OPENCL}) that the arrays of
   * {@link #parameters()} were changed on the host: copies values and gradients to the device. A no-op elsewhere.
   */
  default void parametersChanged() {}

  /**
   * Where the parameters live when they are not the arrays of {@link #parameters()}: on {@link Backend#OPENCL} the
   * device, where {@link AdamW} keeps its moments and steps; null on the CPU backends. What {@code AdamW.of(model)}
   * asks for; a user of the model has no need of it.
   */
  default DeviceParameters deviceParameters() {
    return null;
  }

  /**
   * Waits until the work this model has queued is done. On the CPU backends every call returns when its work is
   * done, so this does nothing; on {@link Backend#OPENCL} an optimizer step is queued on the device and not waited
   * for (the next forward, decode or read of the parameters waits for it): call this before reading a clock, as a
   * benchmark of training steps does.
   */
  default void finish() {}

  /**
   * Writes the parameters as float32 safetensors with the family's Hugging Face tensor names and conventions
   * (GPT-2's, the Conv1D weights transposed; Llama's {@code LlamaForCausalLM} names, the q and k rows in the
   * rotate-half order; BERT's and ViT's sequence- and image-classification names), atomically: to a temporary file
   * beside {@code path}, forced to the disk, then renamed over it.
   */
  default void save(Path path) throws IOException {
    safetensors(path).write(path);
  }

  /**
   * What {@link #save} writes to {@code path} (named in messages), not yet written: its metadata and tensors, for a
   * file that holds more beside them ({@link AdamW#saveCheckpoint} adds the optimizer's state). The tensors read
   * the parameters when they are written; on {@link Backend#OPENCL} this call first copies them from the device.
   */
  Safetensors.Contents safetensors(Path path);

  /**
   * Reads the weights of {@code path} into this model, as the generated {@code load(backend, path)} reads them into
   * a new one (the family's safetensors names, or its own checkpoint format; a training checkpoint's optimizer
   * state is skipped). All or nothing: on any exception the parameters are as they were. Gradients are untouched.
   *
   * @throws dev.unroll.runtime.format.CheckpointException naming the file and the problem
   */
  void loadParameters(Path path) throws IOException;
}
