package dev.unroll.samples;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** The files a run writes: checked before training, written atomically after it, into folders made as needed. */
final class SampleFiles {
  private SampleFiles() {}

  /**
   * Fails unless {@code file} can be written after training: it is not a folder, and its folder exists (made now
   * if missing) and is writable. Minutes of training are not lost to a --save that cannot be written.
   */
  static void checkWritable(Path file) throws SampleException {
    if (Files.isDirectory(file)) {
      throw new SampleException("cannot save to " + file + ": it is a folder; give a file name");
    }
    Path folder = makeFolderOf(file);
    if (!Files.isWritable(folder)) {
      throw new SampleException("cannot save to " + file + ": the folder " + folder + " is not writable");
    }
  }

  /**
   * Writes {@code bytes} to {@code file} through a new temporary file in the same folder (made if missing), forced
   * to the disk and then renamed over {@code file}: readers see the old file or the whole new one, never a part.
   */
  static void write(Path file, byte[] bytes) throws SampleException {
    Path target = makeFolderOf(file).resolve(file.getFileName());
    Path temp = target.resolveSibling("." + target.getFileName() + "."
        + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
    try {
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        for (ByteBuffer buffer = ByteBuffer.wrap(bytes); buffer.hasRemaining(); ) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new SampleException("cannot write " + file + ": " + e);
    } finally {
      try {
        Files.deleteIfExists(temp); // after a failure; after the move it is gone already
      } catch (IOException e) {
        // nothing more to do: a leftover .tmp file is all that remains
      }
    }
  }

  /** The folder of {@code file}, made if missing; an error that names what is in the way if it cannot be. */
  private static Path makeFolderOf(Path file) throws SampleException {
    Path folder = file.toAbsolutePath().getParent();
    try {
      return Files.createDirectories(folder);
    } catch (FileAlreadyExistsException e) {
      throw new SampleException("cannot write " + file + ": " + e.getFile() + " is in the way (a file, not a folder)");
    } catch (IOException e) {
      throw new SampleException("cannot write " + file + ": cannot make the folder " + folder + ": " + e);
    }
  }
}
