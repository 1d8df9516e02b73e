package dev.unroll.bench;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.SplittableRandom;

/** A model of a named shape with its optimizer and one batch of random tokens, shared by the model benchmarks. */
final class ModelState {
  final CausalLm model;
  final AdamW opt;
  final int[] x;
  final int[] y;

  ModelState(String shape, Backend backend, int threads) {
    WorkerPool.setThreads(threads);
    model = NamedShape.named(shape).create(backend);
    opt = AdamW.of(model).lr(1e-4f);
    int n = model.shape().batch() * model.shape().context();
    SplittableRandom r = new SplittableRandom(1);
    x = new int[n];
    y = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = r.nextInt(model.shape().vocab());
      y[i] = r.nextInt(model.shape().vocab());
    }
  }

  float trainingStep() {
    float loss = model.forward(x, y);
    model.zeroGrad();
    model.backward();
    opt.step();
    return loss;
  }

  float forward() {
    return model.forward(x, y);
  }
}
