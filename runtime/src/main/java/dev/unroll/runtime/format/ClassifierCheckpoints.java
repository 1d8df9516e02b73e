package dev.unroll.runtime.format;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Safetensors as Hugging Face's classification models store them ({@code BertForSequenceClassification},
 * {@code ViTForImageClassification}): the base model's tensors under a prefix ({@code bert.}, {@code vit.}) and the
 * head's ({@code classifier.*}) without. What the encoder families' checkpoints share; each names its prefix, its
 * position table and the buffers to skip, and keeps its layout's shapes, which are Hugging Face's.
 *
 * <p>Loading accepts names with or without the prefix. A file without the head (the base model alone, as
 * {@code BertModel} or {@code ViTModel} saves it) loads, the head taking the family's initial values, and says so.
 * A position table with more positions than the model's context gives its first ones, as the decoders' loads do,
 * and says so; a shorter one, or any other difference of shape, is a {@link CheckpointException} giving the
 * tensor, the file's shape and the model's. Loading never half-loads: it reads into a scratch arena, which
 * {@link CheckpointIo.Loaded#install} copies into the model.
 */
public final class ClassifierCheckpoints {

  /** What the head's tensors start with, unprefixed. */
  public static final String HEAD = "classifier.";

  /**
   * How a family's checkpoints name their tensors.
   *
   * @param family the family in messages ("BERT", "ViT")
   * @param prefix what the base model's names start with in a classification model's file ("bert.")
   * @param positions the layout's name of the position table, whose second-to-last axis counts the positions
   * @param ignored names (without the prefix) that are no parameters: buffers, or parts of the base model the
   *     classification model has not
   */
  public record Naming(String family, String prefix, String positions, Predicate<String> ignored) {

    /** A file's name as the layout has it: without the prefix. */
    String canonical(String name) {
      return name.startsWith(prefix) ? name.substring(prefix.length()) : name;
    }
  }

  private ClassifierCheckpoints() {}

  /**
   * Writes the parameters, laid out as {@code layout} (already checked against them), as float32 safetensors in
   * their layout shapes, the prefix before every name but the head's, with metadata {@code format=pt} and {@code
   * unroll.shape=describe}: what {@code save} writes, not yet written.
   */
  public static Safetensors.Contents contents(Parameters p, List<ParamTensor> layout, Naming naming,
      String describe) {
    List<Safetensors.Entry> entries = new ArrayList<>(layout.size());
    for (ParamTensor t : layout) {
      String name = t.name().startsWith(HEAD) ? t.name() : naming.prefix() + t.name();
      entries.add(Safetensors.Entry.of(name, t.shape(), p.values(), t.offset()));
    }
    return CheckpointIo.contents(describe, entries);
  }

  /**
   * Reads {@code path} into a scratch arena laid out as {@code layout}.
   *
   * @param describe the model's shape, for messages
   * @param initialised the family's parameters from seed 0, asked for only when the file has no head
   * @throws CheckpointException when the file is not safetensors, is corrupt or truncated, misses a tensor, has one
   *     the model has not, or has another shape
   */
  public static CheckpointIo.Loaded read(Path path, List<ParamTensor> layout, Naming naming, String describe,
      Supplier<float[]> initialised) throws IOException {
    try (Safetensors st = Safetensors.open(path)) {
      String hint = CheckpointIo.shapeHint(st, describe);
      ParamTensor table = layout.stream().filter(t -> t.name().equals(naming.positions())).findFirst().orElseThrow();
      int[] model = table.shape();
      int axis = model.length - 2;
      int context = model[axis];
      boolean head = false;
      int positions = context;
      for (Safetensors.Tensor t : st.tensors().values()) {
        String name = naming.canonical(t.name());
        head |= name.startsWith(HEAD);
        long[] shape = t.shape();
        if (name.equals(table.name()) && sameButAxis(shape, model, axis) && shape[axis] > 0
            && shape[axis] <= Integer.MAX_VALUE) {
          positions = (int) shape[axis];
          if (positions < context) {
            throw new CheckpointException(path, "tensor " + t.name() + " has shape " + Arrays.toString(shape)
                + " but the model expects " + Arrays.toString(model) + ": the checkpoint's position table has "
                + positions + " positions, fewer than the model's context = " + context + " (a longer table is "
                + "fine, its first positions are used)" + (hint.isEmpty() ? "; the model has " + describe : hint));
          }
        }
      }
      Map<String, int[]> expected = new LinkedHashMap<>();
      for (ParamTensor t : layout) {
        if (head || !t.name().startsWith(HEAD)) {
          int[] shape = t.shape();
          if (t == table) {
            shape[axis] = positions;
          }
          expected.put(t.name(), shape);
        }
      }
      Map<String, Safetensors.Tensor> found = CheckpointIo.match(path, st, expected, naming::canonical,
          naming.ignored(), naming.family(), hint);
      float[] scratch = head ? new float[layout.getLast().offset() + layout.getLast().size()] : initialised.get();
      for (ParamTensor t : layout) {
        Safetensors.Tensor f = found.get(t.name());
        if (f != null) {
          st.readFloats(f.name(), scratch, t.offset(), t.size()); // the position table: its first positions
        }
      }
      List<String> notices = new ArrayList<>();
      if (positions > context) {
        notices.add(CheckpointIo.shorterContext(path, "position table has " + positions + " positions", context,
            ""));
      }
      if (!head) {
        notices.add(path + ": no " + HEAD + "weight or " + HEAD + "bias (a " + naming.family() + " model without the "
            + "classification head); the head starts as initialised from seed 0");
      }
      return new CheckpointIo.Loaded(scratch, notices.isEmpty() ? null : String.join("; ", notices));
    }
  }

  /** Whether {@code shape} has the rank of {@code model} and its sizes on every axis but {@code axis}. */
  private static boolean sameButAxis(long[] shape, int[] model, int axis) {
    if (shape.length != model.length) {
      return false;
    }
    for (int i = 0; i < model.length; i++) {
      if (i != axis && shape[i] != model[i]) {
        return false;
      }
    }
    return true;
  }
}
