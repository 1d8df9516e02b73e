package dev.unroll.runtime.vit;

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
 * <p>All of it but the names is {@link ClassifierCheckpoints}', which BERT's checkpoints can share. As for the
 * decoders: loading never half-loads (the file is read and checked into a scratch arena first), saving is atomic,
 * and every failure is a {@link CheckpointException} (or an {@link IllegalArgumentException} for parameters that
 * do not fit the shape) whose message starts with the file's path.
 */
public final class VitCheckpoints {

  /**
   * {@code vit.} before every name but the head's; a {@code ViTModel}'s pooler, which
   * {@code ViTForImageClassification} has not, is no parameter here.
   */
  static final ClassifierCheckpoints.Naming NAMING = new ClassifierCheckpoints.Naming("ViT", "vit.",
      VitLayout.POSITIONS, Pattern.compile("pooler\\.dense\\.(weight|bias)").asMatchPredicate());

  private VitCheckpoints() {}

  /**
   * Writes the parameters as float32 safetensors with {@code ViTForImageClassification}'s names and shapes and
   * metadata {@code format=pt}, {@code unroll.shape=}{@link VitShape#describe()}; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link VitLayout#tensors} says for {@code s}
   */
  public static void save(Parameters p, VitShape s, Path path) throws IOException {
    safetensors(p, s, path).write(path);
  }

  /** What {@link #save} writes to {@code path} (named in messages), not yet written. */
  public static Safetensors.Contents safetensors(Parameters p, VitShape s, Path path) {
    return ClassifierCheckpoints.contents(p, checkLayout(p, s, path), NAMING, s.describe());
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
    ClassifierCheckpoints.read(path, layout, NAMING, s.describe(), () -> {
      int count = VitLayout.count(s);
      Parameters initial = new Parameters(new float[count], new float[count], layout);
      VitInit.init(initial, s, 0);
      return initial.values();
    }).install(p, notices);
  }

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, VitShape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> VitLayout.tensors(s), "a ViT model with " + s.describe(), "VitLayout",
        path);
  }
}
