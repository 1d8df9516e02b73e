package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;
import java.util.List;

/**
 * Everything the shape decides, as plain data: tensors with their offsets, the kernel calls of forward and
 * backward in order, sizes, FLOPs and bytes. The emitter only prints it.
 *
 * @param spec the validated spec
 * @param paddedVocab vocab rounded up for the classifier matmul
 * @param parameters parameter tensors in arena order (gradients use the same offsets)
 * @param activations activation tensors in arena order
 * @param parameterCount floats in the parameter arena
 * @param activationCount floats in the activation arena
 * @param activationGradients the gradient of every activation some backward op touches, in the order of first use,
 *     placed by liveness in the activation-gradient arena ({@link GradientLayout})
 * @param activationGradientCount floats in the activation-gradient arena
 * @param forward forward stages, in call order
 * @param backward backward stages, in call order
 * @param kvCache key and value tensors of every layer, (T, C) each, in the KV arena
 * @param decodeActivations the one decoded position's tensors, in the DEC arena
 * @param decode the stages of one decode step (embedding, each layer, head), in call order
 * @param decodeBf16 the same stages with every weight matmul reading the bfloat16 copy of the parameters (a stage
 *     with no such matmul is the decode stage itself)
 * @param decodeInt8 the same stages reading the int8 copy of the parameters (groups of 32 weights of a row, each
 *     with a float scale); empty where the shape's widths are not multiples of 32
 * @param familyDimensions the dimension constants of this family's own, beyond those every model declares (VOCAB,
 *     PADDED_VOCAB, CONTEXT, DIM, HEADS, HEAD_SIZE, LAYERS, BATCH, HIDDEN), in declaration order: Llama's KV_HEADS,
 *     KV_DIM and QKV_WIDTH; none for GPT-2. The stages' sizes use them by name.
 * @param runtimeShape how the generated {@code SHAPE} constant makes the runtime's shape of this family
 * @param encoding what an encoder's plan adds: its head and the hidden states it pools; null for a decoder (whose
 *     KV cache and decode stages an encoder has none of)
 */
public record Plan(ModelSpec spec, int paddedVocab, List<Tensor> parameters, List<Tensor> activations,
    int parameterCount, int activationCount, List<GradientLayout.Gradient> activationGradients,
    int activationGradientCount, List<Stage> forward, List<Stage> backward, List<Tensor> kvCache,
    List<Tensor> decodeActivations, List<Stage> decode, List<Stage> decodeBf16,
    List<Stage> decodeInt8, List<Dimension> familyDimensions, RuntimeShape runtimeShape, Encoding encoding) {

  /**
   * An encoder's own part of the plan.
   *
   * @param hidden the last hidden states (B, T, C) that {@code embeddings} pools
   * @param logits the head's logits (B, K)
   * @param probs their softmax (B, K)
   * @param losses each row's loss (B)
   * @param tableParameters floats of the embedding tables (looked up, not multiplied): left out of the FLOP count
   */
  public record Encoding(Tensor hidden, Tensor logits, Tensor probs, Tensor losses, long tableParameters) {}

  /**
   * A dimension constant of the generated class.
   *
   * @param name the constant ({@code KV_DIM})
   * @param value its value
   * @param doc its Javadoc sentence ("KV_HEADS * HEAD_SIZE: the width of a key or a value.")
   */
  public record Dimension(String name, int value, String doc) {}

  /**
   * The runtime shape's constructor call, for the generated {@code SHAPE} constant.
   *
   * @param arguments the constructor's arguments, in order, as constant expressions over the generated dimension
   *     constants ({@code "VOCAB"}, ..., {@code "true"})
   * @param doc the constant's Javadoc sentence
   */
  public record RuntimeShape(List<String> arguments, String doc) {
    public RuntimeShape {
      arguments = List.copyOf(arguments);
    }
  }

  public Plan {
    parameters = List.copyOf(parameters);
    activations = List.copyOf(activations);
    activationGradients = List.copyOf(activationGradients);
    forward = List.copyOf(forward);
    backward = List.copyOf(backward);
    kvCache = List.copyOf(kvCache);
    decodeActivations = List.copyOf(decodeActivations);
    decode = List.copyOf(decode);
    decodeBf16 = List.copyOf(decodeBf16);
    decodeInt8 = List.copyOf(decodeInt8);
    familyDimensions = List.copyOf(familyDimensions);
  }

  /** Floats of the KV cache arena. */
  public int kvCount() {
    return arenaEnd(kvCache);
  }

  /** Floats of the decode arena. */
  public int decodeCount() {
    return arenaEnd(decodeActivations);
  }

  private static int arenaEnd(List<Tensor> tensors) {
    if (tensors.isEmpty()) {
      return 0;
    }
    Tensor last = tensors.get(tensors.size() - 1);
    return last.offset() + last.size();
  }

  /** Parameters a user would count: the arena less the padded vocabulary rows (of each vocabulary table). */
  public long trainableParameters() {
    if (encoding != null) {
      return parameterCount;
    }
    int tables = spec.tiedClassifier() ? 1 : 2;
    return parameterCount - (long) tables * (paddedVocab - spec.vocab()) * spec.dim();
  }

  /** Tokens per step: batch · context. */
  public long tokensPerStep() {
    return (long) spec.batch() * spec.context();
  }

  /**
   * Training FLOPs per step (forward, backward), counted the same way for every implementation:
   * 6·N·B·T + 12·L·C·B·T², with N the trainable parameters (an encoder's less its embedding tables, which are
   * looked up rather than multiplied).
   */
  public long trainingFlopsPerStep() {
    long t = spec.context();
    long n = trainableParameters() - (encoding == null ? 0 : encoding.tableParameters());
    return 6L * n * tokensPerStep() + 12L * spec.layers() * spec.dim() * spec.batch() * t * t;
  }

  /** Forward FLOPs per step: a third of the training count. */
  public long forwardFlopsPerStep() {
    return trainingFlopsPerStep() / 3;
  }

  /** Bytes of the parameters: as many again for their gradients and for each of AdamW's two moments. */
  public long parameterBytes() {
    return 4L * parameterCount;
  }

  /** Bytes of the activation arena. */
  public long activationBytes() {
    return 4L * activationCount;
  }

  /** Bytes of the activation-gradient arena. */
  public long activationGradientBytes() {
    return 4L * activationGradientCount;
  }

  /**
   * Bytes a model and its AdamW hold for training: parameters, gradients, two moments, activations and activation
   * gradients.
   */
  public long totalTrainingBytes() {
    return 4 * parameterBytes() + activationBytes() + activationGradientBytes();
  }

  /**
   * Bytes of llm.c's layout of the same training state: every activation tensor its own floats in every layer
   * (shared scratch counted once per tensor), and a gradient arena mirroring the activations. For GPT-2 that is
   * llm.c's {@code train_gpt2.c} at the same shape: 4 × parameters + 2 × its 23 activation tensors.
   */
  public long mirroredTrainingBytes() {
    long floats = 0;
    for (Tensor t : activations) {
      floats += t.size();
    }
    return 4 * parameterBytes() + 2 * 4L * floats;
  }

  /** Bytes of the KV cache and the decode scratch. */
  public long decodeBytes() {
    return 4L * kvCount() + 4L * decodeCount();
  }

  public Tensor parameter(String constant) {
    return find(parameters, constant);
  }

  public Tensor activation(String constant) {
    return find(activations, constant);
  }

  /** The gradient of the activation named {@code constant}. */
  public GradientLayout.Gradient activationGradient(String constant) {
    for (GradientLayout.Gradient g : activationGradients) {
      if (g.tensor().constant().equals("D_" + constant)) {
        return g;
      }
    }
    throw new IllegalArgumentException("no gradient of " + constant);
  }

  public Tensor decodeActivation(String constant) {
    return find(decodeActivations, constant);
  }

  private static Tensor find(List<Tensor> tensors, String constant) {
    for (Tensor t : tensors) {
      if (t.constant().equals(constant)) {
        return t;
      }
    }
    throw new IllegalArgumentException("no tensor " + constant);
  }
}
