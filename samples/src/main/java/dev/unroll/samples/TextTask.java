package dev.unroll.samples;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
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
 * nanoGPT's "baby Shakespeare" CPU run on {@link CharModel}, for any file. Tokens are the text's characters
 * ({@link Vocabulary}: nanoGPT's vocabulary, 65 characters for tiny Shakespeare); a text that is not UTF-8, or has
 * more distinct characters than {@code CharModel}'s vocabulary holds, trains {@link ByteModel} on its bytes instead.
 * The first 90% of the tokens train, the last 10% validate. nanoGPT's hyperparameters: AdamW with betas (0.9, 0.99),
 * weight decay 0.1 and gradient clipping at 1.0; the learning rate warms up linearly for 100 steps, then follows a
 * cosine down to a tenth of its peak at the last step; 2000 steps of 12 windows of 64 tokens.
 *
 * <p>Validation: before the first step and every {@value #EVAL_EVERY} steps the loss over {@value #EVAL_WINDOWS}
 * fixed windows of the held-out split, spread evenly over it (nanoGPT estimates with 20 batches of 12 random
 * windows); after the last step the loss over the whole held-out split, cut into consecutive windows of the context,
 * every token but the first predicted once: the figure the run reports. Then a sample.
 */
final class TextTask {
  static final int DEFAULT_STEPS = 2000;
  static final float DEFAULT_LR = 1e-3f;
  static final int EVAL_EVERY = 250;
  /** Windows of the periodic estimate: nanoGPT's eval_iters = 20 batches of 12. */
  static final int EVAL_WINDOWS = 240;
  static final int WARMUP = 100;
  static final int SAMPLE_TOKENS = 300;
  static final float TEMPERATURE = 0.8f;
  /** The text of {@code --text} without a file: tiny Shakespeare, a resource beside this class. */
  static final String BUNDLED_NAME = "tinyshakespeare.txt";

  private TextTask() {}

  /** The models a text trains: {@link CharModel} on its characters, or {@link ByteModel} on its bytes. */
  enum Model {
    CHAR("CharModel", UnrolledCharModel.SHAPE, UnrolledCharModel.PARAMETER_COUNT, UnrolledCharModel.FLOPS_PER_STEP),
    BYTE("ByteModel", UnrolledByteModel.SHAPE, UnrolledByteModel.PARAMETER_COUNT, UnrolledByteModel.FLOPS_PER_STEP);

    final String name;
    final ModelShape shape;
    final int parameters;
    final long flopsPerStep;

    Model(String name, ModelShape shape, int arena, long flopsPerStep) {
      this.name = name;
      this.shape = shape;
      // The parameter arena less the padded rows of the (tied) token table, which no token uses: what nanoGPT counts.
      this.parameters = arena - (shape.paddedVocab() - shape.vocab()) * shape.dim();
      this.flopsPerStep = flopsPerStep;
    }

    CausalLm create(Backend backend, long seed) {
      return this == CHAR ? UnrolledCharModel.create(backend, seed) : UnrolledByteModel.create(backend, seed);
    }
  }

  /**
   * A text made ready to train on.
   *
   * @param bytes the file's bytes, which identify the run in its checkpoints
   * @param vocabulary what its tokens are
   * @param tokens the text as tokens
   * @param why why the vocabulary is bytes; null for characters
   */
  record Corpus(byte[] bytes, Vocabulary vocabulary, int[] tokens, String why) {
    /** The model that trains on it. */
    Model model() {
      return vocabulary.bytes() ? Model.BYTE : Model.CHAR;
    }

    /** Tokens of the training split: the first 90%. */
    int trainLength() {
      return TextTask.trainLength(tokens.length);
    }
  }

  /**
   * Trains a fresh model on {@code corpus}, the text of {@code options.text()} that {@link #load} returned, and
   * prints a sample.
   *
   * @return the final validation loss, over the whole held-out split
   */
  static float run(Options options, Corpus corpus, PrintStream out) throws SampleException {
    Options.Text text = options.text();
    int[] tokens = corpus.tokens();
    Vocabulary vocabulary = corpus.vocabulary();
    Model kind = corpus.model();
    int batch = kind.shape.batch();
    int context = kind.shape.context();
    int trainLength = corpus.trainLength();
    int valLength = tokens.length - trainLength;
    int steps = options.steps() > 0 ? options.steps() : DEFAULT_STEPS;
    float lr = Float.isNaN(options.lr()) ? DEFAULT_LR : options.lr();
    int warmup = Math.min(WARMUP, steps / 10);
    String unit = vocabulary.unit();
    out.printf(Locale.ROOT, "data: %s, %,d %ss: %,d for training, %,d for validation%n", text, tokens.length, unit,
        trainLength, valLength);
    out.printf(Locale.ROOT, "vocabulary: %s%s%n", vocabulary, corpus.why() == null
        ? String.format(Locale.ROOT, " (%s's vocabulary holds %d)", kind.name, kind.shape.vocab())
        : ": " + corpus.why());
    out.printf(Locale.ROOT, "training: %,d steps of %d x %d %ss, lr %s (warmup %d, cosine to %s), AdamW betas "
        + "(0.9, 0.99), weight decay 0.1, gradient clip 1.0%n", steps, batch, context, unit, Main.plain(lr), warmup,
        Main.plain(lr / 10));

    CausalLm model = kind.create(options.backend(), options.seed());
    Rng rng = new Rng(options.seed());
    int[] x = new int[batch * context];
    int[] y = new int[batch * context];
    Evaluation evaluation = new Evaluation(model, tokens, trainLength);
    // The same windows at every evaluation, so that successive losses compare like with like.
    int[] estimateWindows = evaluation.spread(EVAL_WINDOWS);

    LossCurve curve = new LossCurve(kind.name + " on " + text.name() + " (seed " + options.seed() + ")",
        "validation loss (" + estimateWindows.length + " windows of the last 10%; all of it at the last step)",
        steps);
    Training training = new Training(options, model,
        opt -> opt.lr(lr).betas(0.9f, 0.99f).weightDecay(0.1f).clipGradNorm(1f), curve, out);
    Progress progress = training.run(new Training.Data() {
      @Override
      public void draw(int row) {
        int start = rng.nextInt(trainLength - context);
        if (row >= 0) {
          System.arraycopy(tokens, start, x, row * context, context);
          System.arraycopy(tokens, start + 1, y, row * context, context);
        }
      }

      @Override
      public float forward() {
        return model.forward(x, y);
      }

      @Override
      public float heldOutLoss() {
        return (float) evaluation.loss(estimateWindows);
      }

      @Override
      public float finalHeldOutLoss() {
        return (float) evaluation.loss(evaluation.all());
      }

      @Override
      public Rng rng() {
        return rng;
      }

      @Override
      public void identify(Map<String, String> identity) {
        identity.put("--text", TextTask.identify(corpus.bytes()));
      }

      @Override
      public String report(int step, float heldOutLoss, float smoothedLoss) {
        return step == 0 ? String.format(Locale.ROOT, "step %d: val loss %.4f", step, heldOutLoss)
            : String.format(Locale.ROOT, "step %d: train loss %.4f (smoothed), val loss %.4f%s", step, smoothedLoss,
                heldOutLoss, step == steps ? " (the whole held-out split)" : "");
      }
    }, new Training.Plan(steps, lr, warmup, EVAL_EVERY, batch, (long) batch * context, "tok"));
    float valLoss = training.heldOutLoss();
    double seconds = progress.trainingSeconds();
    out.printf(Locale.ROOT, "trained in %.1f s (%.1f s with evaluation): %,.0f tokens/s, %.2f GFLOP/s; final val "
        + "loss %.4f (the whole held-out split: %,d %ss predicted, in windows of %d)%n", seconds,
        progress.wallSeconds(), progress.tokensPerSecond(),
        kind.flopsPerStep * (double) progress.stepsRun() * training.ranks() / seconds / 1e9, valLoss,
        valLength - 1, unit, context);

    long sampleStart = System.nanoTime();
    int newline = vocabulary.token('\n');
    int first = newline >= 0 ? newline : tokens[trainLength];
    int[] sample = sample(model, vocabulary.size(), first, new Rng(options.seed()));
    double sampleSeconds = (System.nanoTime() - sampleStart) / 1e9;
    out.printf(Locale.ROOT, "sample: %d %ss after %s, temperature %s, in %.1f s%n", SAMPLE_TOKENS, unit,
        newline >= 0 ? "a newline" : "the held-out text's first " + unit, Main.plain(TEMPERATURE), sampleSeconds);
    out.println("----------------------------------------");
    out.println(vocabulary.decode(sample, 1, sample.length));
    out.println("----------------------------------------");
    training.save(options.save(), vocabulary.metadata());
    return valLoss;
  }

  /**
   * The loss of a model on windows of the held-out split: the split cut into consecutive windows of the context,
   * window w predicting tokens {@code [1 + w * context, 1 + (w + 1) * context)} of the split (the last one fewer)
   * from the tokens before each, within the window. Computed from the logits, in double, so that the last window's
   * missing positions and a last batch's missing rows are not counted: the mean over exactly the positions asked
   * for.
   */
  static final class Evaluation {
    private final CausalLm model;
    private final int[] tokens;
    private final int valStart;
    /** Tokens of the held-out split that are predicted: all but its first. */
    private final int targets;
    private final int batch;
    private final int context;
    private final int[] x;
    private final float[] logits;

    Evaluation(CausalLm model, int[] tokens, int valStart) {
      this.model = model;
      this.tokens = tokens;
      this.valStart = valStart;
      this.targets = tokens.length - valStart - 1;
      this.batch = model.shape().batch();
      this.context = model.shape().context();
      this.x = new int[batch * context];
      this.logits = new float[model.shape().vocab()];
    }

    /** Windows of the whole split. */
    int windows() {
      return (targets + context - 1) / context;
    }

    /** Every window: the whole split. */
    int[] all() {
      int[] all = new int[windows()];
      Arrays.setAll(all, w -> w);
      return all;
    }

    /** {@code count} windows spread evenly over the split (all of them when it has no more). */
    int[] spread(int count) {
      int windows = windows();
      if (count >= windows) {
        return all();
      }
      int[] chosen = new int[count];
      for (int i = 0; i < count; i++) {
        chosen[i] = (int) ((long) i * windows / count);
      }
      return chosen;
    }

    /** The mean cross-entropy over every predicted position of {@code windows}, forward only. */
    double loss(int[] windows) {
      double sum = 0;
      long positions = 0;
      for (int first = 0; first < windows.length; first += batch) {
        int rows = Math.min(batch, windows.length - first);
        Arrays.fill(x, 0); // rows past the last window, and positions past a short window: computed, not counted
        for (int row = 0; row < rows; row++) {
          int w = windows[first + row];
          System.arraycopy(tokens, valStart + w * context, x, row * context, length(w));
        }
        model.forward(x, null);
        for (int row = 0; row < rows; row++) {
          int w = windows[first + row];
          int from = valStart + w * context;
          for (int t = 0, n = length(w); t < n; t++) {
            model.logits(row, t, logits);
            sum += crossEntropy(logits, tokens[from + t + 1]);
            positions++;
          }
        }
      }
      return sum / positions;
    }

    /** Positions that window {@code w} predicts: the context, or what is left of the split. */
    private int length(int w) {
      return Math.min(context, targets - w * context);
    }

    /** -log softmax(logits)[target], in double. */
    private static double crossEntropy(float[] logits, int target) {
      float max = Float.NEGATIVE_INFINITY;
      for (float logit : logits) {
        max = Math.max(max, logit);
      }
      double sum = 0;
      for (float logit : logits) {
        sum += Math.exp(logit - max);
      }
      return Math.log(sum) - (logits[target] - max);
    }
  }

  /** The text of {@code text}: its file, or the bundled tiny Shakespeare, made ready to train on. */
  static Corpus load(Options.Text text) throws SampleException {
    if (text.file() != null) {
      return load(text.file());
    }
    try (InputStream in = TextTask.class.getResourceAsStream(BUNDLED_NAME)) {
      if (in == null) {
        throw new SampleException(BUNDLED_NAME + " is missing from the samples' resources: rebuild the samples");
      }
      return corpus(BUNDLED_NAME, in.readAllBytes());
    } catch (IOException e) {
      throw new SampleException("cannot read the bundled " + BUNDLED_NAME + ": " + e.getMessage());
    }
  }

  /** The whole file, made ready to train on, or a clear error when it cannot be read or is too short to split. */
  static Corpus load(Path path) throws SampleException {
    return corpus(path.toString(), read(path));
  }

  /**
   * {@code data} as tokens of {@link CharModel}'s vocabulary when its characters fit, else as bytes; {@code name}
   * names it in messages.
   */
  static Corpus corpus(String name, byte[] data) throws SampleException {
    int capacity = Model.CHAR.shape.vocab();
    String text = Vocabulary.utf8(data);
    Vocabulary characters = text == null ? null : Vocabulary.of(text);
    Vocabulary vocabulary = characters != null && characters.size() <= capacity ? characters : Vocabulary.BYTES;
    String why = null;
    if (vocabulary.bytes()) {
      why = characters == null ? "the text is not UTF-8, so ByteModel trains on its bytes"
          : String.format(Locale.ROOT, "the text has %d distinct characters, more than CharModel's %d, so ByteModel "
              + "trains on its bytes (with vocab = %d or more in CharModel's @Transformer, CharModel would train on "
              + "its characters)", characters.size(), capacity, characters.size());
    }
    int[] tokens = vocabulary.bytes() ? vocabulary.encode(data) : vocabulary.encode(text);
    int context = Model.CHAR.shape.context();
    int trainLength = trainLength(tokens.length);
    int valLength = tokens.length - trainLength;
    if (trainLength < context + 1 || valLength < context + 1) {
      String unit = vocabulary.unit();
      throw new SampleException(String.format(Locale.ROOT,
          "%s is too short: its %,d %ss split into %,d for training and %,d for validation, and each part needs "
              + "at least context + 1 = %d %ss; use a text of at least %,d %ss",
          name, tokens.length, unit, trainLength, valLength, context + 1, unit, shortestText(context), unit));
    }
    return new Corpus(data, vocabulary, tokens, why);
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

  /** Tokens of the training split: the first 90% of the text, as nanoGPT splits it. */
  private static int trainLength(int tokens) {
    return (int) (tokens * 9L / 10);
  }

  /**
   * {@value #SAMPLE_TOKENS} tokens drawn at temperature {@value #TEMPERATURE} after {@code first}, which the result
   * begins with, from the first {@code tokens} of the model's vocabulary (a text's characters: ids above them never
   * occurred in training, and {@link Vocabulary} could not decode them). Decoded with the KV cache; once the cache
   * holds a whole context it restarts on the last context - 1 tokens, so that every token is drawn from the context
   * before it, cut to the model's, as nanoGPT's sampling cuts it.
   */
  static int[] sample(CausalLm model, int tokens, int first, Rng rng) {
    int context = model.shape().context();
    int[] text = new int[1 + SAMPLE_TOKENS];
    text[0] = first;
    double[] weights = new double[tokens];
    model.reset();
    float[] logits = model.decode(first);
    for (int length = 1; length < text.length; length++) {
      int next = draw(logits, weights, rng);
      text[length] = next;
      if (length + 1 == text.length) {
        break;
      }
      if (model.position() == context) {
        model.reset();
        for (int t = length + 1 - context; t < length; t++) {
          model.decode(text[t]);
        }
      }
      logits = model.decode(next);
    }
    return text;
  }

  /** A token drawn from softmax(logits / TEMPERATURE) over the first {@code weights.length} logits. */
  private static int draw(float[] logits, double[] weights, Rng rng) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < weights.length; i++) {
      max = Math.max(max, logits[i]);
    }
    double sum = 0;
    for (int i = 0; i < weights.length; i++) {
      weights[i] = Math.exp((logits[i] - max) / TEMPERATURE);
      sum += weights[i];
    }
    double u = rng.nextDouble() * sum;
    for (int i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) {
        return i;
      }
    }
    return weights.length - 1;
  }

  /** The fewest tokens for which both splits hold context + 1 tokens. */
  private static int shortestText(int context) {
    int n = context + 1;
    while (trainLength(n) < context + 1 || n - trainLength(n) < context + 1) {
      n++;
    }
    return n;
  }
}
