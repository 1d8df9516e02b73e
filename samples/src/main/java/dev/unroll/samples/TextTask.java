package dev.unroll.samples;

import static dev.unroll.samples.UnrolledCharModel.BATCH;
import static dev.unroll.samples.UnrolledCharModel.CONTEXT;
import static dev.unroll.samples.UnrolledCharModel.VOCAB;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * nanoGPT's "baby Shakespeare" recipe on {@link CharModel}, for any file: bytes are tokens; the first 90% of
 * the file trains, the last 10% validates. AdamW with betas (0.9, 0.99), weight decay 0.1 and gradient clipping
 * at 1.0; the learning rate warms up linearly for 100 steps, then follows a cosine down to a tenth of its peak
 * at the last step. Validation loss is printed every {@value #EVAL_EVERY} steps and at the end; then a sample.
 */
final class TextTask {
  static final int DEFAULT_STEPS = 2000;
  static final float DEFAULT_LR = 1e-3f;
  static final int EVAL_EVERY = 250;
  static final int EVAL_BATCHES = 20;
  static final int WARMUP = 100;
  static final int SAMPLE_BYTES = 300;
  static final float TEMPERATURE = 0.8f;
  /** The text of {@code --text} without a file: tiny Shakespeare, a resource beside this class. */
  static final String BUNDLED_NAME = "tinyshakespeare.txt";
  private static final long EVAL_SEED_MIX = 0x5DEECE66DL;

  private TextTask() {}

  /**
   * Trains a fresh model on {@code data}, the bytes of {@code options.text()} that {@link #load} returned, and
   * prints a sample.
   *
   * @return the final validation loss
   */
  static float run(Options options, byte[] data, PrintStream out) throws SampleException {
    Options.Text text = options.text();
    int trainLength = trainLength(data.length);
    int valLength = data.length - trainLength;
    int steps = options.steps() > 0 ? options.steps() : DEFAULT_STEPS;
    float lr = Float.isNaN(options.lr()) ? DEFAULT_LR : options.lr();
    int warmup = Math.min(WARMUP, steps / 10);
    out.printf(Locale.ROOT, "data: %s, %,d bytes: %,d for training, %,d for validation%n", text, data.length,
        trainLength, valLength);
    out.printf(Locale.ROOT, "training: %,d steps of %d x %d bytes, lr %s (warmup %d, cosine to %s), AdamW betas "
        + "(0.9, 0.99), weight decay 0.1, gradient clip 1.0%n", steps, BATCH, CONTEXT, Main.plain(lr), warmup,
        Main.plain(lr / 10));

    UnrolledCharModel model = UnrolledCharModel.create(options.backend(), options.seed());
    Rng rng = new Rng(options.seed());
    int[] x = new int[BATCH * CONTEXT];
    int[] y = new int[BATCH * CONTEXT];
    // The same validation windows at every evaluation, so that successive losses compare like with like.
    int[] evalStarts = new int[EVAL_BATCHES * BATCH];
    Rng evalRng = new Rng(options.seed() ^ EVAL_SEED_MIX);
    for (int i = 0; i < evalStarts.length; i++) {
      evalStarts[i] = trainLength + evalRng.nextInt(valLength - CONTEXT);
    }

    LossCurve curve = new LossCurve("CharModel on " + text.name() + " (seed " + options.seed() + ")",
        "validation loss (last 10% of the text)", steps);
    Training training = new Training(options, model,
        opt -> opt.lr(lr).betas(0.9f, 0.99f).weightDecay(0.1f).clipGradNorm(1f), curve, out);
    Progress progress = training.run(new Training.Data() {
      @Override
      public void draw(int row) {
        int start = rng.nextInt(trainLength - CONTEXT);
        if (row >= 0) {
          fillRow(data, start, row, x, y);
        }
      }

      @Override
      public float forward() {
        return model.forward(x, y);
      }

      @Override
      public float heldOutLoss() {
        return validationLoss(model, data, evalStarts, x, y);
      }

      @Override
      public Rng rng() {
        return rng;
      }

      @Override
      public void identify(Map<String, String> identity) {
        identity.put("--text", TextTask.identify(data));
      }

      @Override
      public String report(int step, float heldOutLoss, float smoothedLoss) {
        return step == 0 ? String.format(Locale.ROOT, "step %d: val loss %.4f", step, heldOutLoss)
            : String.format(Locale.ROOT, "step %d: train loss %.4f (smoothed), val loss %.4f", step, smoothedLoss,
                heldOutLoss);
      }
    }, new Training.Plan(steps, lr, warmup, EVAL_EVERY, BATCH, (long) BATCH * CONTEXT, "tok"));
    float valLoss = training.heldOutLoss();
    double seconds = progress.trainingSeconds();
    out.printf(Locale.ROOT, "trained in %.1f s (%.1f s with evaluation): %,.0f tokens/s, %.2f GFLOP/s; "
        + "final val loss %.4f%n", seconds, progress.wallSeconds(), progress.tokensPerSecond(),
        UnrolledCharModel.FLOPS_PER_STEP * (double) progress.stepsRun() * training.ranks() / seconds / 1e9,
        valLoss);

    long sampleStart = System.nanoTime();
    byte[] sample = sample(model, x, new Rng(options.seed()));
    double sampleSeconds = (System.nanoTime() - sampleStart) / 1e9;
    out.printf(Locale.ROOT, "sample: %d bytes after a newline, temperature %s, in %.1f s%n", SAMPLE_BYTES,
        Main.plain(TEMPERATURE), sampleSeconds);
    out.println("----------------------------------------");
    // new String(..., UTF_8) is lenient: a malformed sequence becomes U+FFFD.
    out.println(new String(sample, StandardCharsets.UTF_8));
    out.println("----------------------------------------");
    training.save(options.save());
    return valLoss;
  }

  /** The bytes of {@code text}: its file, or the bundled tiny Shakespeare. */
  static byte[] load(Options.Text text) throws SampleException {
    if (text.file() != null) {
      return load(text.file());
    }
    try (InputStream in = TextTask.class.getResourceAsStream(BUNDLED_NAME)) {
      if (in == null) {
        throw new SampleException(BUNDLED_NAME + " is missing from the samples' resources: rebuild the samples");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new SampleException("cannot read the bundled " + BUNDLED_NAME + ": " + e.getMessage());
    }
  }

  /** The whole file, or a clear error when it cannot be read or is too short to split. */
  static byte[] load(Path path) throws SampleException {
    byte[] data = read(path);
    int trainLength = trainLength(data.length);
    int valLength = data.length - trainLength;
    if (trainLength < CONTEXT + 1 || valLength < CONTEXT + 1) {
      throw new SampleException(String.format(Locale.ROOT,
          "%s is too short: its %,d bytes split into %,d for training and %,d for validation, and each part needs "
              + "at least context + 1 = %d bytes; use a file of at least %,d bytes",
          path, data.length, trainLength, valLength, CONTEXT + 1, shortestFile()));
    }
    return data;
  }

  private static byte[] read(Path path) throws SampleException {
    if (Files.isDirectory(path)) {
      throw new SampleException(path + " is a directory, not a text file");
    }
    try {
      return Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new SampleException("no such file: " + path.toAbsolutePath().normalize());
    } catch (AccessDeniedException e) {
      throw new SampleException("cannot read " + path + ": permission denied");
    } catch (IOException | OutOfMemoryError e) {
      throw new SampleException("cannot read " + path + ": " + e.getMessage());
    }
  }

  /**
   * What identifies a text in a training checkpoint: its length and SHA-256, so that a run resumes only on the
   * bytes it was trained on, wherever the file now is.
   */
  static String identify(byte[] data) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(data);
      return String.format(Locale.ROOT, "%d bytes, SHA-256 %s", data.length, HexFormat.of().formatHex(hash));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every Java platform has SHA-256", e);
    }
  }

  /** Bytes of the training split: the first 90% of the file. */
  private static int trainLength(int fileLength) {
    return (int) (fileLength * 9L / 10);
  }

  /** Mean loss over the fixed validation windows. */
  private static float validationLoss(CharModel model, byte[] data, int[] starts, int[] x, int[] y) {
    double sum = 0;
    for (int batch = 0; batch < EVAL_BATCHES; batch++) {
      for (int row = 0; row < BATCH; row++) {
        fillRow(data, starts[batch * BATCH + row], row, x, y);
      }
      sum += model.forward(x, y);
    }
    return (float) (sum / EVAL_BATCHES);
  }

  /** Row {@code row}: the CONTEXT bytes from {@code start}, and each one's successor as its target. */
  private static void fillRow(byte[] data, int start, int row, int[] x, int[] y) {
    int base = row * CONTEXT;
    for (int t = 0; t < CONTEXT; t++) {
      x[base + t] = data[start + t] & 0xFF;
      y[base + t] = data[start + t + 1] & 0xFF;
    }
  }

  /**
   * {@value #SAMPLE_BYTES} bytes drawn at temperature {@value #TEMPERATURE} after a newline. No KV cache: each
   * byte runs the model on the last CONTEXT bytes (in row 0; the other rows idle) and reads the logits at the
   * last of them; positions beyond it hold stale tokens that causal attention never lets it see.
   */
  private static byte[] sample(CharModel model, int[] x, Rng rng) {
    byte[] text = new byte[1 + SAMPLE_BYTES];
    text[0] = '\n';
    int length = 1;
    float[] logits = new float[VOCAB];
    double[] weights = new double[VOCAB];
    Arrays.fill(x, 0);
    while (length < text.length) {
      int window = Math.min(length, CONTEXT);
      for (int t = 0; t < window; t++) {
        x[t] = text[length - window + t] & 0xFF;
      }
      model.forward(x, null);
      model.logits(0, window - 1, logits);
      text[length++] = (byte) draw(logits, weights, rng);
    }
    return Arrays.copyOfRange(text, 1, text.length);
  }

  /** A token drawn from softmax(logits / TEMPERATURE). */
  private static int draw(float[] logits, double[] weights, Rng rng) {
    float max = Float.NEGATIVE_INFINITY;
    for (float logit : logits) {
      max = Math.max(max, logit);
    }
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      weights[i] = Math.exp((logits[i] - max) / TEMPERATURE);
      sum += weights[i];
    }
    double u = rng.nextDouble() * sum;
    for (int i = 0; i < logits.length; i++) {
      u -= weights[i];
      if (u < 0) {
        return i;
      }
    }
    return logits.length - 1;
  }

  /** The fewest bytes for which both splits hold CONTEXT + 1 bytes. */
  private static int shortestFile() {
    int n = CONTEXT + 1;
    while (trainLength(n) < CONTEXT + 1 || n - trainLength(n) < CONTEXT + 1) {
      n++;
    }
    return n;
  }
}
