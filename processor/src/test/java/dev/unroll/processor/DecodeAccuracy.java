package dev.unroll.processor;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledStories15MGqa;
import dev.unroll.processor.models.UnrolledStories15MUntied;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.sample.Greedy;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.BiPredicate;
import java.util.function.LongFunction;

/**
 * How far decoding with a lower-precision copy of the weights ({@link DecodeWeights}) moves the logits from float32
 * decoding, stated as one measure:
 *
 * <ul>
 *   <li>Both models, made from the same seed, decode the same tokens: token 1, then at each position float32's
 *       greedy choice ({@link Greedy}: its largest logit, the lowest id on a tie), for {@code positions} positions;
 *       or given tokens.
 *   <li>At each position, the logit error is max over the vocabulary of |logit − float32 logit| divided by max
 *       |float32 logit| at that position. The measure reports its worst and its median over the positions.
 *   <li>The divergence is the first position whose largest logit is another token's than float32's. On float32's
 *       greedy tokens, up to there both models, decoding greedily from token 1, generated the same tokens: greedy
 *       decoding diverges there. -1 when it never does.
 * </ul>
 *
 * <p>{@link #main} prints the measure for bfloat16 and int8 at stories15M's shape (dim 288, 6 layers, 6 heads,
 * hidden 768, vocab 32000, context 256) with grouped-query attention (2 key/value heads) and with an untied
 * classifier, and at the tests' fixtures EVEN and LLAMA_EVEN, all with random weights (the project's
 * initialisation, normal(0, 0.02)) from seeds 1 to 3: a trained checkpoint is not at hand. Run it from the
 * processor's test classpath (after {@code mvn -pl processor -am test-compile}). {@code DecodeWeightsTest} holds
 * two lines of its output (the untied shape, seed 1, random tokens, int8 and bfloat16) to what they printed.
 */
final class DecodeAccuracy {
  private DecodeAccuracy() {}

  /** Token decoded first: llama2.c's BOS. */
  static final int FIRST_TOKEN = 1;

  /**
   * The measure over some positions.
   *
   * @param worst the largest logit error over the positions (see the class comment)
   * @param median the median logit error over the positions (the mean of the middle two for an even count)
   * @param divergence the first position where the largest logit is another token's than float32's, or -1
   * @param positions positions decoded
   * @param distinct distinct tokens among those decoded (a random model's greedy stream may repeat one token)
   */
  record Accuracy(double worst, double median, int divergence, int positions, int distinct) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "worst %.2f%%, median %.2f%%, top token first differs at %s; %d positions,"
          + " %d distinct tokens", 100 * worst, 100 * median, divergence < 0 ? "none" : "position " + divergence,
          positions, distinct);
    }
  }

  /**
   * The measure of {@code other} against {@code float32} over their first {@code positions} positions: both are
   * reset first and decode float32's greedy tokens from {@link #FIRST_TOKEN}, or {@code tokens} when not null.
   */
  static Accuracy measure(CausalLm float32, CausalLm other, int positions, int[] tokens) {
    int vocab = float32.shape().vocab();
    double[] errors = new double[positions];
    int divergence = -1;
    float32.reset();
    other.reset();
    int token = FIRST_TOKEN;
    boolean[] seen = new boolean[vocab];
    int distinct = 0;
    for (int t = 0; t < positions; t++) {
      if (tokens != null) {
        token = tokens[t];
      }
      distinct += seen[token] ? 0 : 1;
      seen[token] = true;
      float[] want = float32.decode(token).clone();
      float[] got = other.decode(token);
      double scale = 0;
      double largest = 0;
      for (int i = 0; i < vocab; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        largest = Math.max(largest, Math.abs(want[i] - got[i]));
      }
      errors[t] = largest / scale;
      int next = Greedy.INSTANCE.sample(want, vocab);
      if (divergence < 0 && Greedy.INSTANCE.sample(got, vocab) != next) {
        divergence = t;
      }
      token = next; // decoded next unless tokens were given
    }
    double[] sorted = errors.clone();
    Arrays.sort(sorted);
    double median = (sorted[(positions - 1) / 2] + sorted[positions / 2]) / 2;
    return new Accuracy(sorted[positions - 1], median, divergence, positions, distinct);
  }

  /** The measure of {@code format} against float32 on two models made by {@code create} from {@code seed}. */
  static Accuracy measure(LongFunction<CausalLm> create, long seed, DecodeWeights format, int positions,
      int[] tokens) {
    CausalLm float32 = create.apply(seed);
    CausalLm low = create.apply(seed);
    low.decodeWeights(format);
    return measure(float32, low, positions, tokens);
  }

  /** n tokens drawn uniformly from the vocabulary with this seed. */
  static int[] randomTokens(int vocab, int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = r.nextInt(vocab);
    }
    return t;
  }

  /**
   * Prints the measure for the shapes and seeds named in the class comment, on float32's greedy tokens and on as
   * many random tokens (drawn with the model's seed); with {@code --attribute}, also where int8's error comes from:
   * the same on float32 models whose classifier alone, or whose layers' matrices alone, were rounded to int8 and
   * back in place ({@link Int8#quantize}).
   */
  public static void main(String[] args) {
    boolean attribute = Arrays.asList(args).contains("--attribute");
    record Named(String name, LongFunction<CausalLm> create, ModelShape shape) {}
    Named[] models = {
        new Named("stories15M shape, 6 heads over 2 kv heads, tied",
            s -> UnrolledStories15MGqa.create(Backend.SIMD, s), UnrolledStories15MGqa.SHAPE),
        new Named("stories15M shape, 6 heads, untied classifier",
            s -> UnrolledStories15MUntied.create(Backend.SIMD, s), UnrolledStories15MUntied.SHAPE),
        new Named("EVEN fixture", s -> ModelFixtures.EVEN.create(Backend.SIMD, s), ModelFixtures.EVEN.shape()),
        new Named("LLAMA_EVEN fixture", s -> ModelFixtures.LLAMA_EVEN.create(Backend.SIMD, s),
            ModelFixtures.LLAMA_EVEN.shape())};
    for (Named m : models) {
      int positions = m.shape.context();
      for (long seed = 1; seed <= 3; seed++) {
        int[] random = randomTokens(m.shape.vocab(), positions, seed);
        for (DecodeWeights format : new DecodeWeights[] {DecodeWeights.BFLOAT16, DecodeWeights.INT8}) {
          String what = m.name + ", seed " + seed + ", " + format;
          System.out.println(what + ", greedy: " + measure(m.create, seed, format, positions, null));
          System.out.println(what + ", random tokens: " + measure(m.create, seed, format, positions, random));
        }
        if (attribute) {
          System.out.println("  classifier alone rounded to int8: "
              + rounded(m.create, seed, positions, DecodeAccuracy::isClassifier));
          System.out.println("  layers' matrices alone rounded to int8: "
              + rounded(m.create, seed, positions, DecodeAccuracy::isLayerMatrix));
        }
      }
    }
  }

  /** The classifier: a Llama's untied head, or the token embedding (tied; also GPT-2's). */
  private static boolean isClassifier(ParamTensor t, boolean untied) {
    return untied ? t.name().equals("lm_head.weight")
        : t.name().equals("model.embed_tokens.weight") || t.name().equals("wte.weight");
  }

  /** A matrix of a layer (two dimensions; not a norm's gain or a bias). */
  private static boolean isLayerMatrix(ParamTensor t, boolean untied) {
    return t.shape().length == 2 && (t.name().startsWith("model.layers.") || t.name().startsWith("h."));
  }

  /**
   * The measure, on float32's greedy tokens, of a float32 model whose tensors that {@code which} picks (told
   * whether the classifier is a tensor of its own) were rounded to int8 and back in place, as int8 decoding rounds
   * them, against the same model unrounded. A tied classifier is also the embedding table, so its rounding reaches
   * the embeddings looked up too, which int8 decoding reads in float32.
   */
  private static Accuracy rounded(LongFunction<CausalLm> create, long seed, int positions,
      BiPredicate<ParamTensor, Boolean> which) {
    CausalLm float32 = create.apply(seed);
    CausalLm model = create.apply(seed);
    var params = model.parameters();
    boolean untied = params.tensors().stream().anyMatch(t -> t.name().equals("lm_head.weight"));
    for (ParamTensor t : params.tensors()) {
      if (which.test(t, untied)) {
        float[] w = Arrays.copyOfRange(params.values(), t.offset(), t.offset() + t.size());
        byte[] q = new byte[w.length];
        float[] scales = new float[Int8.scaleCount(w.length)];
        Int8.quantize(w, q, scales, w.length); // rows of whole groups: a row's groups are its own
        for (int i = 0; i < w.length; i++) {
          params.values()[t.offset() + i] = Int8.toFloat(q[i], scales[i / Int8.GROUP]);
        }
      }
    }
    model.parametersChanged();
    return measure(float32, model, positions, null);
  }
}
