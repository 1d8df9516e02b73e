package dev.unroll.runtime.bert;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.CheckpointIo;
import dev.unroll.runtime.format.ClassifierCheckpoints;
import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * BERT checkpoints: Hugging Face's safetensors, read into and written from a model's {@link Parameters} laid out as
 * {@link BertLayout} says. Every tensor is stored in the arena's own shape (Hugging Face's {@code nn.Linear} is
 * (out, in) too), so nothing is transposed or permuted.
 *
 * <p><b>Saving</b> writes {@code BertForSequenceClassification}'s names: {@code bert.} before every name but the
 * head's {@code classifier.weight} and {@code classifier.bias}; float32, metadata {@code format=pt} and
 * {@code unroll.shape=}{@link BertShape#describe()}, atomically.
 *
 * <p><b>Loading</b> takes names with or without {@code bert.}, so a {@code BertModel}'s file loads as well as a
 * {@code BertForSequenceClassification}'s. The pooler ({@code pooler.dense.*}) is part of the model and required. A
 * file without {@code classifier.*} (a plain {@code BertModel}) loads with the head as {@link BertInit} makes it
 * from seed 0, and the load says so. A position table longer than the model's context gives its first
 * {@code context} rows (a model of that context reads no others), and the load says so; a shorter one would leave
 * positions without an embedding and is an error. Each load says what it has to say in one line at INFO on the
 * {@link System.Logger} {@code dev.unroll.runtime.format}. The buffers {@code embeddings.position_ids} and
 * {@code embeddings.token_type_ids}, which some versions of Hugging Face's library save, are not parameters and are
 * skipped; any other tensor the model does not have is an error naming it.
 *
 * <p>What BERT's and ViT's checkpoints share is {@link ClassifierCheckpoints}; this class names BERT's prefix,
 * position table and buffers. As for the decoders: loading never half-loads (the whole file is read and checked
 * into a scratch array before anything is copied into the parameters), saving is atomic, and every failure is a
 * {@link CheckpointException} (or an {@link IllegalArgumentException} for parameters that do not fit the shape)
 * whose message starts with the file's path.
 */
public final class BertCheckpoints {

  /**
   * {@code bert.} before every name but the head's; the buffers {@code embeddings.position_ids} and
   * {@code embeddings.token_type_ids} are no parameters.
   */
  static final ClassifierCheckpoints.Naming NAMING = new ClassifierCheckpoints.Naming("BERT", "bert.",
      BertLayout.POSITION, Pattern.compile("embeddings\\.(position_ids|token_type_ids)").asMatchPredicate());

  private BertCheckpoints() {}

  /**
   * Writes the parameters as float32 safetensors with {@code BertForSequenceClassification}'s names; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link BertLayout#tensors} says for {@code s}
   */
  public static void saveSafetensors(Parameters p, BertShape s, Path path) throws IOException {
    safetensors(p, s, path).write(path);
  }

  /** What {@link #saveSafetensors} writes to {@code path} (named in messages), not yet written. */
  public static Safetensors.Contents safetensors(Parameters p, BertShape s, Path path) {
    return ClassifierCheckpoints.contents(p, checkLayout(p, s, path), NAMING, s.describe());
  }

  /**
   * Loads BERT safetensors into {@code p.values()}; gradients are not touched. Nothing is written into {@code p}
   * unless the whole file was read and matched.
   *
   * @throws CheckpointException when the file is not safetensors, is corrupt or truncated, lacks a tensor or has one
   *     the model does not have, or has a tensor of another shape (a position table shorter than the context among
   *     them)
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link BertLayout#tensors} says for {@code s}
   * @throws IOException when the file cannot be read
   */
  public static void load(Parameters p, BertShape s, Path path) throws IOException {
    load(p, s, path, CheckpointIo.LOG_NOTICE);
  }

  /** {@link #load(Parameters, BertShape, Path)}, telling {@code notices} what it would log. */
  static void load(Parameters p, BertShape s, Path path, Consumer<String> notices) throws IOException {
    List<ParamTensor> layout = checkLayout(p, s, path);
    ClassifierCheckpoints.read(path, layout, NAMING, s.describe(), () -> {
      int count = BertLayout.count(s);
      Parameters initial = new Parameters(new float[count], new float[count], layout);
      BertInit.init(initial, s, 0);
      return initial.values();
    }).install(p, notices);
  }

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, BertShape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> BertLayout.tensors(s), "a BERT model with " + s.describe(),
        "BertLayout", path);
  }
}
