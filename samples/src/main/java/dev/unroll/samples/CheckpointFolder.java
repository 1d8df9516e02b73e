package dev.unroll.samples;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.mpi.DataParallel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The folder of one run's training checkpoints ({@code --checkpoints}): {@code step-000120.safetensors} for the
 * checkpoint written after step 120, each written atomically by {@link AdamW#saveCheckpoint} (a temporary file
 * {@code .step-000120.safetensors.<random>.tmp} beside it, forced to the disk, renamed, the folder forced), so that
 * a file of that name is always whole. The newest is the one of the highest step.
 *
 * <p>A folder that holds checkpoints belongs to a run that has not finished: a finished run deletes its own. So a
 * run that writes checkpoints and was not asked to {@code --resume} refuses such a folder rather than mix its
 * checkpoints with another run's or delete hours of someone's training.
 *
 * <p>Data-parallel ({@link Ranks}), rank 0 alone lists, rotates and deletes the files; {@link DataParallel} writes and
 * reads each checkpoint with every rank taking part, rank 0 touching the file, and every rank tries the checkpoints
 * that rank 0 found, in its order, so that all restore the same one.
 */
final class CheckpointFolder {
  private static final Pattern NAME = Pattern.compile("step-(\\d{6,9})\\.safetensors");
  /** The temporary file of an atomic write of a checkpoint that was interrupted before its rename. */
  private static final Pattern TEMPORARY = Pattern.compile("\\.step-\\d{6,9}\\.safetensors\\..+\\.tmp");

  private final Options.Checkpoints options;
  private final Path folder;
  private final int keep;
  private final Ranks ranks;
  /** Writes and reads the checkpoints across the ranks; null when {@link AdamW} does it in one process. */
  private final DataParallel dp;

  /** A checkpoint in the folder: the step it was written after, and its file. */
  record Checkpoint(int step, Path file) {}

  /** A run restored from a checkpoint: which, and the trainer's state it held. */
  record Resumed(Checkpoint checkpoint, TrainingState state) {}

  /** The folder {@code options} name, keeping the newest {@code keep} checkpoints, for checks before a run. */
  CheckpointFolder(Options.Checkpoints options, Ranks ranks) {
    this(options, ranks, null);
  }

  /**
   * The folder {@code options} name, keeping the newest {@code keep} checkpoints, its files listed by rank 0 of
   * {@code ranks}; the checkpoints written and read by {@code dp}, or by {@link AdamW} in one process when it is null.
   */
  CheckpointFolder(Options.Checkpoints options, Ranks ranks, DataParallel dp) {
    this.options = options;
    this.folder = options.folder();
    this.keep = options.keep();
    this.ranks = ranks;
    this.dp = dp;
  }

  Path path() {
    return folder;
  }

  /** The file of the checkpoint written after {@code step}. */
  Path file(int step) {
    return folder.resolve(String.format(Locale.ROOT, "step-%06d.safetensors", step));
  }

  /**
   * Fails before anything is trained when the folder cannot be used as the options ask: a file is in its way, or a
   * run that will write checkpoints without {@code --resume} finds the checkpoints of an unfinished run there.
   */
  void checkBeforeRun() throws SampleException {
    if (Files.exists(folder) && !Files.isDirectory(folder)) {
      throw new SampleException("cannot keep checkpoints in " + folder + ": it is a file, not a folder; give "
          + "another --checkpoints");
    }
    if (options.writes() && !options.resume()) {
      List<Checkpoint> found = list();
      if (!found.isEmpty()) {
        throw new SampleException(String.format(Locale.ROOT, "%s holds %d checkpoint(s) of a run that did not "
            + "finish (the newest %s): add --resume to continue it, or delete them (or give another "
            + "--checkpoints folder) to start afresh", folder, found.size(), found.getFirst().file().getFileName()));
      }
    }
  }

  /** The checkpoints in the folder, newest first; none when there is no folder. */
  List<Checkpoint> list() throws SampleException {
    List<Checkpoint> found = new ArrayList<>();
    for (Path file : files(NAME)) {
      Matcher m = NAME.matcher(file.getFileName().toString());
      if (m.matches()) {
        found.add(new Checkpoint(Integer.parseInt(m.group(1)), file));
      }
    }
    found.sort(Comparator.comparingInt(Checkpoint::step).reversed());
    return found;
  }

  /**
   * Deletes the temporary files of saves that were interrupted (killed before their rename): they are never read,
   * and nobody else writes in a run's folder. Says which.
   */
  void deleteTemporaries(PrintStream out) throws SampleException {
    ranks.onRoot(() -> {
      for (Path file : files(TEMPORARY)) {
        delete(file);
        out.println("deleted " + file + ", left by a checkpoint save that was interrupted");
      }
      return "";
    });
  }

  /**
   * Restores {@code opt} (and its model) from the newest checkpoint that loads, trying older ones when one does not
   * (corrupt, truncated, not a training checkpoint of this model: {@code loadCheckpoint} says which and changes
   * nothing), each skip said on {@code out}. Null when the folder holds no checkpoint.
   *
   * @throws SampleException when there are checkpoints and none of them loads
   */
  Resumed resume(AdamW opt, PrintStream out) throws SampleException {
    // Rank 0's list, by file name (a checkpoint's step is in its name), one a line, on every rank.
    String names = ranks.onRoot(() -> String.join("\n", list().stream().map(c -> c.file().getFileName().toString())
        .toList()));
    if (names.isEmpty()) {
      return null;
    }
    List<Checkpoint> found = new ArrayList<>();
    for (String name : names.split("\n")) {
      Matcher m = NAME.matcher(name);
      if (!m.matches()) {
        throw new AssertionError("rank 0 listed " + name + " as a checkpoint");
      }
      found.add(new Checkpoint(Integer.parseInt(m.group(1)), folder.resolve(name)));
    }
    for (Checkpoint checkpoint : found) {
      try {
        return new Resumed(checkpoint, new TrainingState(checkpoint.file(), load(opt, checkpoint.file())));
      } catch (IOException e) {
        // Every rank alike: when rank 0 cannot load it, no rank can.
        out.println("skipped " + reason(checkpoint.file(), e) + (checkpoint == found.getLast() ? ""
            : "; trying the one before it"));
      }
    }
    throw new SampleException(String.format(Locale.ROOT, "none of the %d checkpoint(s) in %s loads (each is said "
        + "above): delete them (or give another --checkpoints folder) to start afresh", found.size(), folder));
  }

  /**
   * Writes {@code opt}'s checkpoint with the trainer's {@code state} after {@code step}, then deletes the
   * checkpoints past the newest {@code --keep-checkpoints} (never the one just written; only once it is on the
   * disk) and any of later steps (left by an earlier run of this one and skipped when it resumed: they did not
   * load).
   */
  Path write(AdamW opt, int step, TrainingState state) throws SampleException {
    Path file = file(step);
    ranks.onRoot(() -> {
      try {
        Files.createDirectories(folder);
      } catch (IOException e) {
        throw new SampleException("cannot write the checkpoint " + reason(file, e));
      }
      return "";
    });
    try {
      if (dp == null) {
        opt.saveCheckpoint(file, state.values());
      } else {
        dp.saveCheckpoint(opt, file, state.values());
      }
    } catch (IOException e) {
      throw new SampleException("cannot write the checkpoint " + reason(file, e));
    }
    ranks.onRoot(() -> {
      int kept = 0;
      for (Checkpoint checkpoint : list()) {
        if (checkpoint.step() == step) {
          kept++;
        } else if (checkpoint.step() > step || kept >= keep) {
          delete(checkpoint.file());
        } else {
          kept++;
        }
      }
      return "";
    });
    return file;
  }

  private Map<String, String> load(AdamW opt, Path file) throws IOException {
    return dp == null ? opt.loadCheckpoint(file) : dp.loadCheckpoint(opt, file);
  }

  /** Deletes every checkpoint and temporary file, and the folder when nothing else is in it: the run is done. */
  int deleteAll() throws SampleException {
    List<Checkpoint> found = list();
    for (Checkpoint checkpoint : found) {
      delete(checkpoint.file());
    }
    for (Path file : files(TEMPORARY)) {
      delete(file);
    }
    try {
      if (Files.isDirectory(folder)) {
        try (DirectoryStream<Path> rest = Files.newDirectoryStream(folder)) {
          if (!rest.iterator().hasNext()) {
            Files.delete(folder);
          }
        }
      }
    } catch (IOException e) {
      // An empty folder left behind is harmless; the checkpoints themselves are gone.
    }
    return found.size();
  }

  /** The files directly in the folder whose names match {@code pattern}; none when there is no folder. */
  private List<Path> files(Pattern pattern) throws SampleException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
      for (Path file : entries) {
        if (pattern.matcher(file.getFileName().toString()).matches() && Files.isRegularFile(file)) {
          files.add(file);
        }
      }
    } catch (NoSuchFileException e) {
      return files;
    } catch (NotDirectoryException e) {
      throw new SampleException("cannot keep checkpoints in " + folder + ": it is a file, not a folder");
    } catch (IOException e) {
      throw new SampleException("cannot list the checkpoints in " + folder + ": " + e);
    }
    return files;
  }

  private static void delete(Path file) throws SampleException {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new SampleException("cannot delete " + file + ": " + e);
    }
  }

  /** What went wrong with {@code file}: a checkpoint's message names it already; any other names it here. */
  private static String reason(Path file, IOException e) {
    return e instanceof CheckpointException ? e.getMessage() : file + ": " + e;
  }
}
