package dev.unroll.bench;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Encoder;
import dev.unroll.runtime.ImageEncoder;
import dev.unroll.runtime.TextEncoder;
import dev.unroll.runtime.thread.WorkerPool;
import dev.unroll.runtime.vit.VitShape;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * An encoder of a named shape with its optimizer, one fixed batch of random inputs and labels, and the array its
 * embeddings go into, shared by the encoder benchmarks. Text rows are full (every row {@code context} random
 * tokens of type 0), so the work is the shape's whole count; images are standard Gaussian pixels.
 */
final class EncoderState {
  final Encoder model;
  final AdamW opt;
  /** The embeddings of the last inference: {@code batch} vectors of {@code dim}, allocated once. */
  final float[] vectors;
  private final int[] labels;
  private final Forward forward;

  /** A forward over the fixed inputs, with these labels or none ({@code null}). */
  @FunctionalInterface
  private interface Forward {
    float run(int[] labels);
  }

  EncoderState(String shape, Backend backend, int threads) {
    WorkerPool.setThreads(threads);
    model = NamedEncoder.named(shape).create(backend);
    opt = AdamW.of(model).lr(1e-4f);
    int batch = model.shape().batch();
    int context = model.shape().context();
    vectors = new float[batch * model.shape().dim()];
    SplittableRandom r = new SplittableRandom(1);
    labels = new int[batch];
    Arrays.setAll(labels, i -> r.nextInt(model.shape().classes()));
    forward = switch (model) {
      case TextEncoder text -> {
        int[] tokens = r.ints(batch * context, 0, model.shape().vocab()).toArray();
        int[] lengths = new int[batch];
        Arrays.fill(lengths, context);
        yield l -> text.forward(tokens, lengths, l);
      }
      case ImageEncoder image when model.shape() instanceof VitShape grid -> {
        float[] pixels = new float[batch * grid.pixels()];
        for (int i = 0; i < pixels.length; i++) {
          pixels[i] = (float) r.nextGaussian();
        }
        yield l -> image.forward(pixels, l);
      }
      default -> throw new IllegalArgumentException(shape + " is neither a text nor an image encoder");
    };
  }

  /** What an embedding service does per batch: the forward without labels, then the pooled vectors. */
  float[] inference() {
    forward.run(null);
    return model.embeddings(vectors);
  }

  /**
   * Forward with labels, zeroGrad, backward, one AdamW step, waited for (on a device AdamW's update is enqueued;
   * on the CPU finish does nothing); returns the loss.
   */
  float trainingStep() {
    float loss = forward.run(labels);
    model.zeroGrad();
    model.backward();
    opt.step();
    model.finish();
    return loss;
  }
}
