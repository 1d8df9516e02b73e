package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The encoder samples learn on a small budget, in seconds: far above chance on their held-out examples after a few
 * dozen steps. The full runs and their targets are in {@link LearningTest} (opt-in).
 */
class EncoderLearningTest {
  private static final int DIGITS_STEPS = 100;
  private static final int BRACKETS_STEPS = 250;

  @TempDir
  Path dir;

  @Test
  void digitsViTLearnsInAFewSteps() throws Exception {
    // Chance is 10%; a model that learned nothing predicts one digit for all.
    DigitsTask.Trained trained = DigitsTask.train(options(Options.Task.DIGITS, DIGITS_STEPS), quiet());
    double accuracy = trained.evaluation().matrix().accuracy();
    assertTrue(accuracy >= 0.7, "held-out accuracy after " + DIGITS_STEPS + " steps: " + accuracy);
  }

  @Test
  void digitsEmbeddingsPutLikeDigitsTogether() throws Exception {
    DigitsTask.Trained trained = DigitsTask.train(options(Options.Task.NEIGHBOURS, DIGITS_STEPS), quiet());
    int[] train = trained.split().train();
    int[] test = trained.split().test();
    float[] trainVectors = NeighboursTask.embed(trained.model(), trained.digits(), train);
    float[] testVectors = NeighboursTask.embed(trained.model(), trained.digits(), test);
    for (int i = 0; i < test.length; i++) {
      double norm = 0;
      for (int d = 0; d < UnrolledDigitsModel.DIM; d++) {
        norm += testVectors[i * UnrolledDigitsModel.DIM + d] * testVectors[i * UnrolledDigitsModel.DIM + d];
      }
      assertTrue(Math.abs(norm - 1) < 1e-4, "unit length: " + norm);
    }
    double agreement = NeighboursTask.agreement(trained.digits(), train, trainVectors, test, testVectors,
        UnrolledDigitsModel.DIM);
    assertTrue(agreement >= 0.7, "nearest training image of the same digit: " + agreement);
  }

  @Test
  void bracketsBertLearnsInAFewSteps() {
    // A guess costs ln 2 = 0.693 a string. Strings with one bracket removed, an eighth of all, have an odd length:
    // a model that has learned only that is at 7/8 ln 2 = 0.606; matching the brackets takes thousands of steps.
    BracketsTask.Trained trained = BracketsTask.train(options(Options.Task.BRACKETS, BRACKETS_STEPS), quiet());
    double loss = trained.evaluation().loss();
    assertTrue(loss < 0.66, "held-out loss after " + BRACKETS_STEPS + " steps: " + loss);
  }

  private Options options(Options.Task task, int steps) {
    return new Options(task, Backend.SIMD, steps, Options.DEFAULT_SEED, Float.NaN,
        dir.resolve(task.id() + ".safetensors"), null, false);
  }

  private static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream());
  }
}
