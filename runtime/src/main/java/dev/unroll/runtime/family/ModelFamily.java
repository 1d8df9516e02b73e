package dev.unroll.runtime.family;

import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.Trainable;
import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the runtime knows of one model family, in one place: its parameter layout, initialisation, checkpoint mapping
 * and scalar reference model. Each family's package ({@code dev.unroll.runtime.gpt2}, {@code dev.unroll.runtime.llama})
 * holds one as {@code <Name>Family.FAMILY}; a generated class calls nothing else of its family, and the processor's
 * family registry names that holder, so a new family is one package here and one planner there.
 *
 * @param <S> the family's shape
 */
public final class ModelFamily<S extends ModelShape, M extends Trainable> {

  /** The parameter tensors of a shape, in arena order, with their Hugging Face names. */
  @FunctionalInterface
  public interface Layout<S> {
    List<ParamTensor> tensors(S s);
  }

  /** Fills the parameters with the family's initialisation; the same seed gives the same values. */
  @FunctionalInterface
  public interface Init<S> {
    void init(Parameters p, S s, long seed);
  }

  /** Reads the parameters from a file. */
  @FunctionalInterface
  public interface Io<S> {
    void apply(Parameters p, S s, Path path) throws IOException;
  }

  /** Reads a file's weights into a new arena of the shape's layout. */
  @FunctionalInterface
  public interface Reader<S> {
    float[] read(S s, Path path) throws IOException;
  }

  /** What saving the parameters to a file (named in messages) writes, not yet written. */
  @FunctionalInterface
  public interface Writer<S> {
    Safetensors.Contents contents(Parameters p, S s, Path path);
  }

  /** The scalar reference model of a shape, initialised from a seed. */
  @FunctionalInterface
  public interface Reference<S, M> {
    M create(S s, long seed);
  }

  private final String name;
  private final Layout<S> layout;
  private final Init<S> init;
  private final Io<S> load;
  private final Reader<S> read;
  private final Writer<S> save;
  private final Reference<S, M> reference;

  /**
   * @param name the family's name in messages and docs ("GPT-2", "Llama")
   * @param layout the parameter layout
   * @param init the initialisation
   * @param load reads safetensors with the family's Hugging Face names, or the family's own checkpoint format, told
   *     apart by their first bytes
   * @param save what safetensors with the family's Hugging Face names hold, for writing
   * @param reference the scalar reference model
   */
  public ModelFamily(String name, Layout<S> layout, Init<S> init, Io<S> load, Writer<S> save,
      Reference<S, M> reference) {
    this(name, layout, init, load, null, save, reference);
  }

  /**
   * A family whose models can also be made for decoding only: as above, with {@code read}, which reads what
   * {@code load} reads into a new arena instead (the arena the new model adopts, so that its weights are held once).
   */
  public ModelFamily(String name, Layout<S> layout, Init<S> init, Io<S> load, Reader<S> read, Writer<S> save,
      Reference<S, M> reference) {
    this.name = Objects.requireNonNull(name);
    this.layout = Objects.requireNonNull(layout);
    this.init = Objects.requireNonNull(init);
    this.load = Objects.requireNonNull(load);
    this.read = read;
    this.save = Objects.requireNonNull(save);
    this.reference = Objects.requireNonNull(reference);
  }

  /** The family's name in messages and docs ("GPT-2", "Llama"). */
  public String name() {
    return name;
  }

  /** The parameter tensors of a model of shape {@code s}, in arena order, with their Hugging Face names. */
  public List<ParamTensor> tensors(S s) {
    return layout.tensors(s);
  }

  /** Fills {@code p} with the family's initialisation; the same seed gives the same values. */
  public void init(Parameters p, S s, long seed) {
    init.init(p, s, seed);
  }

  /**
   * Reads the weights of {@code path} into {@code p}: safetensors with the family's Hugging Face names, or the
   * family's own checkpoint format, told apart by their first bytes.
   */
  public void load(Parameters p, S s, Path path) throws IOException {
    load.apply(p, s, path);
  }

  /**
   * Reads the weights of {@code path}, as {@link #load} does, into a new arena of {@code s}'s layout, which the
   * caller adopts: how a model made for decoding only holds its weights once.
   *
   * @throws UnsupportedOperationException for a family whose models do not decode (an encoder's)
   */
  public float[] read(S s, Path path) throws IOException {
    if (read == null) {
      throw new UnsupportedOperationException(name + " models do not decode: load them with load");
    }
    return read.read(s, path);
  }

  /** Writes {@code p} as safetensors with the family's Hugging Face names, atomically. */
  public void save(Parameters p, S s, Path path) throws IOException {
    safetensors(p, s, path).write(path);
  }

  /**
   * What {@link #save} writes to {@code path} (named in messages), not yet written: the tensors read {@code p}
   * when written.
   */
  public Safetensors.Contents safetensors(Parameters p, S s, Path path) {
    return save.contents(p, s, path);
  }

  /** The family's checkpoints of one shape: what a model of it saves and loads. */
  public interface Checkpoints {
    /** What saving {@code p} to {@code path} writes, not yet written. */
    Safetensors.Contents safetensors(Parameters p, Path path);

    /** Reads the weights of {@code path} into {@code p}, all or nothing. */
    void load(Parameters p, Path path) throws IOException;
  }

  /** This family's checkpoints for models of shape {@code s}. */
  public Checkpoints checkpoints(S s) {
    return new Checkpoints() {
      @Override
      public Safetensors.Contents safetensors(Parameters p, Path path) {
        return ModelFamily.this.safetensors(p, s, path);
      }

      @Override
      public void load(Parameters p, Path path) throws IOException {
        ModelFamily.this.load(p, s, path);
      }
    };
  }

  /** The scalar reference model of shape {@code s} from {@code seed}: what generated code is tested against. */
  public M reference(S s, long seed) {
    return reference.create(s, seed);
  }

  @Override
  public String toString() {
    return name;
  }
}
