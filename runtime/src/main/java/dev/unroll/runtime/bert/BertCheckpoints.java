package dev.unroll.runtime.bert;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.CheckpointIo;
import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>As for the decoders: loading never half-loads (the whole file is read and checked into a scratch array before
 * anything is copied into the parameters), saving is atomic, and every failure is a {@link CheckpointException}
 * (or an {@link IllegalArgumentException} for parameters that do not fit the shape) whose message starts with the
 * file's path.
 */
public final class BertCheckpoints {

  /** What {@code BertForSequenceClassification} puts before the names of its {@code BertModel}. */
  static final String PREFIX = "bert.";

  /** Buffers of Hugging Face's BertEmbeddings that some checkpoints store beside the parameters. */
  private static final Pattern IGNORED = Pattern.compile("embeddings\\.(position_ids|token_type_ids)");

  private BertCheckpoints() {}

  /**
   * Writes the parameters as float32 safetensors with {@code BertForSequenceClassification}'s names; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link BertLayout#tensors} says for {@code s}
   */
  public static void saveSafetensors(Parameters p, BertShape s, Path path) throws IOException {
    List<ParamTensor> layout = checkLayout(p, s, path);
    List<Safetensors.Entry> entries = new ArrayList<>(layout.size());
    for (ParamTensor t : layout) {
      String name = isHead(t.name()) ? t.name() : PREFIX + t.name();
      entries.add(Safetensors.Entry.of(name, t.shape(), p.values(), t.offset()));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("unroll.shape", s.describe());
    Safetensors.write(path, metadata, entries);
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
    CheckpointIo.Loaded loaded;
    try (Safetensors st = Safetensors.open(path)) {
      loaded = read(path, st, s, layout);
    }
    loaded.install(p, notices);
  }

  private static CheckpointIo.Loaded read(Path path, Safetensors st, BertShape s, List<ParamTensor> layout)
      throws IOException {
    String hint = CheckpointIo.shapeHint(st, s.describe());
    boolean hasHead = st.tensors().keySet().stream().anyMatch(name -> isHead(canonical(name)));
    int positions = positionRows(st, s);
    if (positions < s.context()) {
      throw new CheckpointException(path, "tensor " + fileName(st, BertLayout.POSITION) + " has shape ["
          + positions + ", " + s.dim() + "] but the model expects [" + s.context() + ", " + s.dim() + "]: the "
          + "checkpoint's position table has " + positions + " rows, fewer than the model's context = "
          + s.context() + " (a longer table is fine, its first rows are used)"
          + (hint.isEmpty() ? "; the model has " + s.describe() : hint));
    }
    Map<String, int[]> expected = new LinkedHashMap<>();
    for (ParamTensor t : layout) {
      if (hasHead || !isHead(t.name())) {
        expected.put(t.name(), t.name().equals(BertLayout.POSITION) ? new int[] {positions, s.dim()} : t.shape());
      }
    }
    Map<String, Safetensors.Tensor> found = CheckpointIo.match(path, st, expected, BertCheckpoints::canonical,
        name -> IGNORED.matcher(name).matches(), "BERT", hint);
    float[] scratch = new float[BertLayout.count(s)];
    for (ParamTensor t : layout) {
      Safetensors.Tensor f = found.get(t.name());
      if (f != null) {
        st.readFloats(f.name(), scratch, t.offset(), t.size()); // the position table: its first context rows
      }
    }
    String notice = positions == s.context() ? null
        : CheckpointIo.shorterContext(path, "position table has " + positions + " rows", s.context(), "");
    if (!hasHead) {
      initialHead(s, layout, scratch);
      String head = "no " + BertLayout.CLASSIFIER_WEIGHT + " or " + BertLayout.CLASSIFIER_BIAS + " (a BertModel "
          + "without a sequence-classification head): the head of " + s.classes() + " classes starts as "
          + "initialised from seed 0";
      notice = notice == null ? path + ": " + head : notice + "; " + head;
    }
    return new CheckpointIo.Loaded(scratch, notice);
  }

  /** Writes into {@code scratch} the classification head that {@link BertInit} makes from seed 0. */
  private static void initialHead(BertShape s, List<ParamTensor> layout, float[] scratch) {
    Parameters fresh = new Parameters(new float[scratch.length], new float[scratch.length], layout);
    BertInit.init(fresh, s, 0);
    for (ParamTensor t : layout) {
      if (isHead(t.name())) {
        System.arraycopy(fresh.values(), t.offset(), scratch, t.offset(), t.size());
      }
    }
  }

  /** Whether a (canonical) name is the classification head's. */
  private static boolean isHead(String name) {
    return name.startsWith("classifier.");
  }

  /** A safetensors name as the layout has it: without {@code bert.}. */
  private static String canonical(String name) {
    return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
  }

  /** The file's name for the layout's tensor {@code name}: with or without the prefix. */
  private static String fileName(Safetensors st, String name) {
    return st.tensors().containsKey(name) ? name : PREFIX + name;
  }

  /**
   * The rows of the file's position table when it is a {@code [rows, dim]} matrix: the context the checkpoint was
   * made for. Otherwise (absent, or of another width) the model's context, so that matching reports it as it
   * reports any other tensor.
   */
  private static int positionRows(Safetensors st, BertShape s) {
    for (Safetensors.Tensor t : st.tensors().values()) {
      long[] shape = t.shape();
      if (canonical(t.name()).equals(BertLayout.POSITION) && shape.length == 2 && shape[1] == s.dim()
          && shape[0] > 0 && shape[0] <= Integer.MAX_VALUE) {
        return (int) shape[0];
      }
    }
    return s.context();
  }

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, BertShape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> BertLayout.tensors(s), "a BERT model with " + s.describe(),
        "BertLayout", path);
  }
}
