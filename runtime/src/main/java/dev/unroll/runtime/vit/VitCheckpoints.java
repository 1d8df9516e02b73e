package dev.unroll.runtime.vit;

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
 * ViT checkpoints: Hugging Face's safetensors, read into and written from a model's {@link Parameters} laid out as
 * {@link VitLayout} says. Every tensor is stored in the shape the layout gives it, which is Hugging Face's: the
 * patch projection as the Conv2d weight (C, CH, PH, PW), the class token (1, 1, C), the position table (1, T, C).
 *
 * <p>Saving writes {@code ViTForImageClassification}'s names: {@code vit.} before every name but the head's
 * ({@code classifier.*}). Loading accepts names with or without {@code vit.}; a file without the head (a plain
 * {@code ViTModel}) loads, the head initialised as {@link VitInit} does from seed 0, and says so; a
 * {@code ViTModel}'s pooler ({@code pooler.dense.*}, which the image classifier does not have) is ignored. A
 * position table longer than the model's is cut to its first rows (the class token's, then the patches' in
 * row-major order: right for a grid of the same width with fewer rows), as the decoders' loads do, and says so; a
 * shorter one, or any other difference of shape, is an error giving both shapes. Each notice goes once per load
 * to {@link System.Logger} {@code dev.unroll.runtime.format} at INFO.
 *
 * <p>As for the decoders: loading never half-loads (the file is read and checked into a scratch arena first),
 * saving is atomic, and every failure is a {@link CheckpointException} (or an {@link IllegalArgumentException}
 * for parameters that do not fit the shape) whose message starts with the file's path.
 */
public final class VitCheckpoints {

  /** The prefix {@code ViTForImageClassification} puts before every name but the head's. */
  static final String PREFIX = "vit.";

  /** A {@code ViTModel}'s pooler, which {@code ViTForImageClassification} has not: not a parameter here. */
  private static final Pattern IGNORED = Pattern.compile("pooler\\.dense\\.(weight|bias)");

  private VitCheckpoints() {}

  /**
   * Writes the parameters as float32 safetensors with {@code ViTForImageClassification}'s names and shapes and
   * metadata {@code format=pt}, {@code unroll.shape=}{@link VitShape#describe()}; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link VitLayout#tensors} says for {@code s}
   */
  public static void save(Parameters p, VitShape s, Path path) throws IOException {
    List<ParamTensor> layout = checkLayout(p, s, path);
    List<Safetensors.Entry> entries = new ArrayList<>(layout.size());
    for (ParamTensor t : layout) {
      String name = t.name().startsWith(VitLayout.CLASSIFIER) ? t.name() : PREFIX + t.name();
      entries.add(Safetensors.Entry.of(name, t.shape(), p.values(), t.offset()));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("unroll.shape", s.describe());
    Safetensors.write(path, metadata, entries);
  }

  /**
   * Loads a ViT safetensors file into {@code p.values()}; gradients are not touched. Nothing is written into
   * {@code p} unless the whole file was read and matched.
   *
   * @throws CheckpointException when the file is not safetensors, is corrupt or truncated, misses a tensor, has one
   *     a ViT model does not, or has a shape other than the model's
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link VitLayout#tensors} says for {@code s}
   * @throws IOException when the file cannot be read
   */
  public static void load(Parameters p, VitShape s, Path path) throws IOException {
    load(p, s, path, CheckpointIo.LOG_NOTICE);
  }

  /** {@link #load(Parameters, VitShape, Path)}, telling {@code notices} what it would log. */
  static void load(Parameters p, VitShape s, Path path, Consumer<String> notices) throws IOException {
    List<ParamTensor> layout = checkLayout(p, s, path);
    read(path, s, layout).install(p, notices);
  }

  private static CheckpointIo.Loaded read(Path path, VitShape s, List<ParamTensor> layout) throws IOException {
    try (Safetensors st = Safetensors.open(path)) {
      String hint = CheckpointIo.shapeHint(st, s.describe());
      boolean head = false;
      int positions = s.context();
      for (Safetensors.Tensor t : st.tensors().values()) {
        String name = canonical(t.name());
        head |= name.startsWith(VitLayout.CLASSIFIER);
        long[] shape = t.shape();
        if (name.equals(VitLayout.POSITIONS) && shape.length == 3 && shape[0] == 1 && shape[2] == s.dim()
            && shape[1] > s.context() && shape[1] <= Integer.MAX_VALUE) {
          positions = (int) shape[1];
        }
      }
      Map<String, int[]> expected = new LinkedHashMap<>();
      for (ParamTensor t : layout) {
        if (head || !t.name().startsWith(VitLayout.CLASSIFIER)) {
          expected.put(t.name(), t.name().equals(VitLayout.POSITIONS) ? new int[] {1, positions, s.dim()}
              : t.shape());
        }
      }
      Map<String, Safetensors.Tensor> found = CheckpointIo.match(path, st, expected, VitCheckpoints::canonical,
          name -> IGNORED.matcher(name).matches(), "ViT", hint);
      int count = VitLayout.count(s);
      Parameters scratch = new Parameters(new float[count], new float[count], layout);
      if (!head) {
        VitInit.init(scratch, s, 0);
      }
      for (ParamTensor t : layout) {
        Safetensors.Tensor f = found.get(t.name());
        if (f != null) {
          st.readFloats(f.name(), scratch.values(), t.offset(), t.size()); // the position table's first rows
        }
      }
      List<String> notices = new ArrayList<>();
      if (!head) {
        notices.add(path + ": no classifier.weight or classifier.bias (a ViTModel without the image-classification "
            + "head); the head of " + s.classes() + " classes is initialised from seed 0");
      }
      if (positions > s.context()) {
        notices.add(CheckpointIo.shorterContext(path, "position table has " + positions + " rows", s.context(),
            " rows"));
      }
      return new CheckpointIo.Loaded(scratch.values(), notices.isEmpty() ? null : String.join("; ", notices));
    }
  }

  /** A safetensors name as the layout has it: without {@code vit.}. */
  private static String canonical(String name) {
    return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
  }

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, VitShape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> VitLayout.tensors(s), "a ViT model with " + s.describe(), "VitLayout",
        path);
  }
}
