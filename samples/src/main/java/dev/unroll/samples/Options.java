package dev.unroll.samples;

import dev.unroll.runtime.Backend;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The command line of {@link Main}, parsed and checked.
 *
 * @param task the sample to run
 * @param backend where the model computes
 * @param steps training steps, or 0 for the task's default
 * @param seed seed of initialization, data order and sampling
 * @param lr peak learning rate, or NaN for the task's default
 * @param save where to write the trained model; its loss curve goes beside it (see {@link LossCurve})
 * @param text the text of the character model ({@link Task#TEXT}); null for the other tasks
 * @param help whether usage was asked for
 * @param checkpoints when training checkpoints are written, where, how many are kept, and whether to resume
 */
record Options(Task task, Backend backend, int steps, long seed, float lr, Path save, Text text, boolean help,
    Checkpoints checkpoints) {

  static final long DEFAULT_SEED = 1337;
  /** Where results go when {@code --save} does not say: a folder under the working directory. */
  static final Path DEFAULT_FOLDER = Path.of("out");
  static final int DEFAULT_CHECKPOINT_MINUTES = 10;
  static final int DEFAULT_KEEP_CHECKPOINTS = 3;

  /** Options as the command line's defaults would have them for the rest: checkpoints as {@link #parse} sets them. */
  Options(Task task, Backend backend, int steps, long seed, float lr, Path save, Text text, boolean help) {
    this(task, backend, steps, seed, lr, save, text, help, new Checkpoints(0, DEFAULT_CHECKPOINT_MINUTES,
        DEFAULT_KEEP_CHECKPOINTS, Checkpoints.folderBeside(save), false));
  }

  /** The samples {@code --task} chooses from. */
  enum Task {
    /** minGPT's sort task on a small GPT: the default. */
    SORT,
    /** The character model on a text ({@code --text}). */
    TEXT,
    /** A ViT classifying the UCI handwritten digits. */
    DIGITS,
    /** A BERT telling balanced strings of brackets from near misses. */
    BRACKETS,
    /** The digits ViT's embeddings: nearest neighbours by cosine similarity. */
    NEIGHBOURS;

    /** The name on the command line and of the default model file. */
    String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * The text of the character model.
   *
   * @param file a file, or null for the tiny Shakespeare that ships with the samples
   */
  record Text(Path file) {
    /** The file's name, without its folder. */
    String name() {
      if (file == null) {
        return TextTask.BUNDLED_NAME;
      }
      return file.getFileName() == null ? file.toString() : file.getFileName().toString();
    }

    /** The file's name without its extension: the stem of the default model file. */
    String stem() {
      String name = name();
      int dot = name.lastIndexOf('.');
      return dot > 0 ? name.substring(0, dot) : name;
    }

    @Override
    public String toString() {
      return file == null ? TextTask.BUNDLED_NAME + " (bundled with the samples)" : file.toString();
    }
  }

  /**
   * When the trainer writes a training checkpoint, where, and what it does with them ({@link CheckpointFolder}).
   *
   * @param every write one every this many steps; 0 for none by count
   * @param minutes write one when this many minutes have passed since the last (or since training started); 0 for
   *     none by time
   * @param keep checkpoints kept in {@code folder}: the newest ones; older ones are deleted
   * @param folder where they go
   * @param resume whether to continue from the newest valid checkpoint in {@code folder}
   */
  record Checkpoints(int every, float minutes, int keep, Path folder, boolean resume) {
    /** The default folder: beside the model, named after it ({@code out/sort.checkpoints} for out/sort.safetensors). */
    static Path folderBeside(Path save) {
      String name = save.getFileName() == null ? save.toString() : save.getFileName().toString();
      int dot = name.lastIndexOf('.');
      return save.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".checkpoints");
    }

    /** Whether the run writes checkpoints at all. */
    boolean writes() {
      return every > 0 || minutes > 0;
    }
  }

  /** The usage that {@code --help} prints and a usage error follows with. */
  static String usage() {
    return CommandLines.usage(new Spec());
  }

  /** Parses and checks {@code args}; a flag takes its value as the next argument or after '='. */
  static Options parse(String[] args) throws CommandLines.UsageException {
    Spec spec = new Spec();
    CommandLine line = CommandLines.parse(spec, args);
    Task task = spec.task != null ? spec.task : spec.text != null ? Task.TEXT : Task.SORT;
    if (spec.text != null && task != Task.TEXT) {
      throw new CommandLines.UsageException("--text goes with --task text (or alone), not with --task " + task.id()
          + ": it is the text of the character model");
    }
    Text text = task != Task.TEXT ? null
        : new Text(spec.text == null || spec.text.equals(Spec.BUNDLED) ? null : path(spec.text));
    Path save = spec.save != null ? spec.save
        : DEFAULT_FOLDER.resolve((text == null ? task.id() : text.stem()) + ".safetensors");
    Checkpoints checkpoints = new Checkpoints(spec.checkpointEvery == null ? 0 : spec.checkpointEvery,
        spec.checkpointMinutes, spec.keepCheckpoints,
        spec.checkpoints != null ? spec.checkpoints : Checkpoints.folderBeside(save), spec.resume);
    return new Options(task, spec.backend, spec.steps == null ? 0 : spec.steps, spec.seed,
        spec.lr == null ? Float.NaN : spec.lr, save, text, line.isUsageHelpRequested(), checkpoints);
  }

  private static Path path(String value) throws CommandLines.UsageException {
    try {
      return new CommandLines.FileName().convert(value);
    } catch (CommandLine.TypeConversionException e) {
      throw new CommandLines.UsageException("invalid value for --text: " + e.getMessage());
    }
  }

  /** The options as picocli reads them; {@link #parse} turns them into an {@code Options}. */
  @Command(name = "Main", sortOptions = false,
      description = {
          "Trains a sample model from scratch and shows what it learned (--task, sort by default):",
          "  sort        SortModel, a small GPT, on minGPT's sort task: accuracy on held-out sequences",
          "  text        CharModel on a text's characters (--text FILE, or tiny Shakespeare, bundled; ByteModel on",
          "              its bytes when it is not UTF-8 or has more than " + UnrolledCharModel.VOCAB
              + " distinct characters; the first 90%% trains,",
          "              the last 10%% validates): validation loss over the last 10%% and a sample",
          "  digits      DigitsModel, a ViT, on the UCI handwritten digits (bundled; a fixed 80/20 split):",
          "              held-out accuracy and the confusion matrix",
          "  brackets    BracketsModel, a BERT: is a string of brackets balanced? Accuracy on held-out strings",
          "  neighbours  DigitsModel trained as for digits, then the training images nearest to held-out ones",
          "              by the cosine similarity of their embeddings",
          "The model goes to --save FILE, its loss curve beside it (FILE's name with .loss.csv and .loss.png).",
          "While it trains, a training checkpoint (the model, AdamW's moments and step, the data order and random",
          "state, the loss curve so far) goes to the --checkpoints folder every --checkpoint-minutes (and every",
          "--checkpoint-every steps, if given), the last --keep-checkpoints of them kept; --resume continues from the",
          "newest valid one exactly as the run would have gone on (same losses, bit for bit). Finished, a run",
          "deletes its checkpoints; a run without --resume refuses a folder that holds an unfinished run's.",
          "Started by Open MPI's mpirun -np N, the N processes train data-parallel (each its rows of every batch,",
          "AdamW's moments sharded), with the same options; rank 0 prints and writes, and a run resumes on any N.",
          ""},
      footer = {
          "",
          "Exit status: 0 done, 1 error, 2 bad command line. Through Maven, from the repository root:",
          "  mvn -B -q -DskipTests -Psample verify -Dsample.args=\"--task digits\""})
  static final class Spec {
    /** {@code --text} without a file; NUL cannot be part of an argument, so no file name reads as this. */
    static final String BUNDLED = "\0bundled";

    @Option(names = "--task", paramLabel = "NAME",
        description = "sort, text, digits, brackets or neighbours (default sort; text with --text)")
    Task task;

    @Option(names = "--text", arity = "0..1", paramLabel = "FILE", fallbackValue = BUNDLED,
        description = "train the character model on FILE; without FILE, on tiny Shakespeare (bundled)")
    String text;

    @Option(names = "--backend", paramLabel = "NAME",
        description = "SCALAR, SIMD or OPENCL (default SIMD; OPENCL: see README)")
    Backend backend = Backend.SIMD;

    @Option(names = "--steps", paramLabel = "N", converter = CommandLines.PositiveInt.class,
        description = "training steps, at least 1 (default: sort " + SortTask.DEFAULT_STEPS + ", text "
            + TextTask.DEFAULT_STEPS + ", digits and neighbours " + DigitsTask.DEFAULT_STEPS + ", brackets "
            + BracketsTask.DEFAULT_STEPS + ")")
    Integer steps;

    @Option(names = "--seed", paramLabel = "S", converter = CommandLines.WholeNumber.class,
        description = "seed of initialization, data order and sampling (default " + DEFAULT_SEED + ")")
    long seed = DEFAULT_SEED;

    @Option(names = "--lr", paramLabel = "X", converter = CommandLines.PositiveNumber.class,
        description = "peak learning rate, > 0 (default: sort " + SortTask.DEFAULT_LR + ", text "
            + TextTask.DEFAULT_LR + ", digits and neighbours " + DigitsTask.DEFAULT_LR + ", brackets "
            + BracketsTask.DEFAULT_LR + ")")
    Float lr;

    @Option(names = "--save", paramLabel = "FILE", converter = CommandLines.FileName.class,
        description = "write the trained model there, as safetensors (default: out/<task>.safetensors, or "
            + "out/<text name>.safetensors)")
    Path save;

    @Option(names = "--checkpoint-every", paramLabel = "N", converter = CommandLines.PositiveInt.class,
        description = "also write a training checkpoint every N steps, N >= 1 (default: by time only)")
    Integer checkpointEvery;

    @Option(names = "--checkpoint-minutes", paramLabel = "M", converter = CommandLines.NonNegativeNumber.class,
        description = "write one when M minutes have passed since the last one, M >= 0 (default "
            + DEFAULT_CHECKPOINT_MINUTES + "; 0: never by time)")
    float checkpointMinutes = DEFAULT_CHECKPOINT_MINUTES;

    @Option(names = "--keep-checkpoints", paramLabel = "K", converter = CommandLines.PositiveInt.class,
        description = "keep the newest K, K >= 1, deleting older ones (default " + DEFAULT_KEEP_CHECKPOINTS + ")")
    int keepCheckpoints = DEFAULT_KEEP_CHECKPOINTS;

    @Option(names = "--checkpoints", paramLabel = "DIR", converter = CommandLines.FileName.class,
        description = "their folder (default: beside the model, named after it: out/sort.checkpoints for "
            + "out/sort.safetensors)")
    Path checkpoints;

    @Option(names = "--resume",
        description = "continue from the newest checkpoint that loads (a corrupt or cut short one is skipped, "
            + "saying why); with no checkpoint there, start at step 0, saying so. An error when none loads, or when "
            + "the checkpoint's run had another --task, --seed, --steps, --lr or text")
    boolean resume;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this")
    boolean help;
  }
}
