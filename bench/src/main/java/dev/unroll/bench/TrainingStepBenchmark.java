package dev.unroll.bench;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** One training step (forward, backward, AdamW) and the forward alone, per shape and backend. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TrainingStepBenchmark {
  @Param({"tiny", "baby"})
  public String shape;

  @Param({"SCALAR", "SIMD"})
  public String backend;

  private CausalLm model;
  private AdamW opt;
  private int[] x;
  private int[] y;

  @Setup
  public void setUp() {
    model = NamedShape.valueOf(shape.toUpperCase(java.util.Locale.ROOT)).create(Backend.valueOf(backend));
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

  @Benchmark
  public float trainingStep() {
    float loss = model.forward(x, y);
    model.zeroGrad();
    model.backward();
    opt.step();
    return loss;
  }

  @Benchmark
  public float forward() {
    return model.forward(x, y);
  }
}
